/**
 * Rooms of an organisation: create (id given or generated), list (cursor pagination in room-id
 * order), get, update and delete (which removes the room's document). Room metadata follows
 * Liveblocks' limits: at most 50 keys of at most 40 characters.
 */
import { Router } from "express";
import { z } from "zod";
import { ROOM_PERMISSIONS } from "../../../protocol/permissions.ts";
import { isValidRoomId } from "../../../protocol/document-name.ts";
import type { RoomService } from "../../domain/rooms/room-service.ts";
import { parseInput } from "../validate.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

export const MAX_METADATA_KEYS = 50;
const MAX_METADATA_JSON = 16 * 1024;

// "*" ends a prefix pattern in access tokens, so a room id may not contain it.
const roomIdSchema = z.string().refine((id) => isValidRoomId(id) && !id.includes("*"), "1 to 128 characters, no control characters, / or *");
const metadataSchema = z
  .record(z.string().min(1).max(40), z.json())
  .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `at most ${MAX_METADATA_KEYS} keys`)
  .refine((m) => JSON.stringify(m).length <= MAX_METADATA_JSON, `at most ${MAX_METADATA_JSON} JSON characters`);
const fields = {
  name: z.string().trim().min(1).max(256).nullable().optional(),
  type: z.string().min(1).max(32).regex(/^[a-z0-9_-]+$/, "lowercase letters, digits, - and _").optional(),
  metadata: metadataSchema.optional(),
  maxParticipants: z.number().int().min(1).max(100_000).nullable().optional(),
  defaultAccess: z.array(z.enum(ROOM_PERMISSIONS)).max(ROOM_PERMISSIONS.length).optional(),
};
const createSchema = z.object({ id: roomIdSchema.optional(), ...fields }).strict();
const updateSchema = z.object(fields).strict();
const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(1024).optional(),
  // Rooms whose id or name contains this, ignoring case (the dashboard's search box).
  search: z.string().trim().min(1).max(128).optional(),
});

export function roomRoutes({ rooms, auth }: { rooms: RoomService; auth: AuthMiddleware }): Router {
  const router = Router();
  const base = "/organizations/:org_id/rooms";

  router.post(base, auth.requireOrgAccess("rooms:write"), async (req, res) => {
    const input = parseInput(createSchema, req.body);
    res.status(201).json({ room: await rooms.create(orgOf(res).id, input) });
  });

  router.get(base, auth.requireOrgAccess("rooms:read"), async (req, res) => {
    const query = parseInput(listSchema, req.query, "Query");
    res.json(await rooms.list(orgOf(res).id, query));
  });

  router.get(`${base}/:room_id`, auth.requireOrgAccess("rooms:read"), async (req, res) => {
    res.json({ room: await rooms.get(orgOf(res).id, String(req.params.room_id)) });
  });

  router.patch(`${base}/:room_id`, auth.requireOrgAccess("rooms:write"), async (req, res) => {
    const patch = parseInput(updateSchema, req.body);
    res.json({ room: await rooms.update(orgOf(res).id, String(req.params.room_id), patch) });
  });

  router.delete(`${base}/:room_id`, auth.requireOrgAccess("rooms:delete"), async (req, res) => {
    await rooms.delete(orgOf(res).id, String(req.params.room_id));
    res.status(204).end();
  });

  return router;
}
