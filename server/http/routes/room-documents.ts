/**
 * A room's Yjs document and broadcast events over REST (Liveblocks' shapes, docs/api.md):
 *   GET  …/rooms/:room_id/ydoc          JSON of the roots (`key`, `type` pick one)     rooms:read
 *   GET  …/rooms/:room_id/ydoc-binary   the encoded state (`state_vector`: the diff)    rooms:read
 *   PUT  …/rooms/:room_id/ydoc          a Yjs update (octet-stream) or JSON changes     rooms:write
 *   POST …/rooms/:room_id/broadcast     a JSON event to every connection of the room   rooms:write
 * API keys and members with the action's role (a Viewer reads, never writes); another
 * organisation's room, or one that does not exist, is 404 room_not_found.
 */
import express, { Router, type Response } from "express";
import { z } from "zod";
import type { RoomService } from "../../domain/rooms/room-service.ts";
import { readDocumentJson, ROOT_TYPES, RootTypeMismatch, updateFromChanges, type JsonChange } from "../../domain/documents/ydoc-json.ts";
import type { ServerDocuments } from "../../realtime/server-documents.ts";
import type { RoomEvents } from "../../realtime/room-events.ts";
import type { RuleWriter } from "../../domain/comments/comment-rules.ts";
import * as Y from "yjs";
import { BadRequestError, ConflictError, NotFoundError } from "../../errors.ts";
import { parseInput } from "../validate.ts";
import { orgAccessOf, orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

const MAX_CHANGES = 100;
const key = z.string().min(1).max(256);
const index = z.number().int().min(0);
const changeSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), key, text: z.string() }).strict(),
  z
    .object({ type: z.literal("map"), key, set: z.record(z.string().max(256), z.json()).optional(), delete: z.array(z.string().max(256)).max(1000).optional() })
    .strict(),
  z
    .object({
      type: z.literal("array"),
      key,
      delete: z.object({ index, length: z.number().int().min(1) }).strict().optional(),
      insert: z.array(z.json()).optional(),
      index: index.optional(),
    })
    .strict(),
]);
const changesSchema = z.union([changeSchema, z.object({ changes: z.array(changeSchema).min(1).max(MAX_CHANGES) }).strict()]);
const readSchema = z.object({ key: key.optional(), type: z.enum(ROOT_TYPES).optional() }).refine((q) => q.type === undefined || q.key !== undefined, {
  message: "type needs a key",
  path: ["type"],
});
const binarySchema = z.object({ state_vector: z.string().max(1024 * 1024).optional() });
const broadcastSchema = z.json();

export interface RoomDocumentRoutesOptions {
  auth: AuthMiddleware;
  rooms: RoomService;
  documents: ServerDocuments;
  events: RoomEvents;
  /** The largest Yjs update a PUT takes (MAX_MESSAGE_BYTES, as on the sockets). */
  maxUpdateBytes: number;
}

export function roomDocumentRoutes({ auth, rooms, documents, events, maxUpdateBytes }: RoomDocumentRoutesOptions): Router {
  const router = Router();
  const base = "/organizations/:org_id/rooms/:room_id";

  /** The room, 404 room_not_found when it is not one of the caller's organisation. */
  async function room(res: Response, roomId: unknown): Promise<{ orgId: string; roomId: string }> {
    const orgId = orgOf(res).id;
    await rooms.get(orgId, String(roomId));
    return { orgId, roomId: String(roomId) };
  }

  router.get(`${base}/ydoc`, auth.requireOrgAccess("rooms:read"), async (req, res) => {
    const query = parseInput(readSchema, req.query, "Query");
    const { orgId, roomId } = await room(res, req.params.room_id);
    const pick = query.key === undefined ? undefined : { key: query.key, type: query.type };
    const json = await documents.read(orgId, roomId, (doc) => readDocumentJson(doc, pick));
    if (json === undefined) throw new NotFoundError(`The document has no root named "${query.key}"`, "ydoc_key_not_found");
    res.json(json);
  });

  router.get(`${base}/ydoc-binary`, auth.requireOrgAccess("rooms:read"), async (req, res) => {
    const query = parseInput(binarySchema, req.query, "Query");
    const stateVector = query.state_vector === undefined ? undefined : decodeStateVector(query.state_vector);
    const { orgId, roomId } = await room(res, req.params.room_id);
    const state = await documents.read(orgId, roomId, (doc) => Y.encodeStateAsUpdate(doc, stateVector));
    res.type("application/octet-stream").send(Buffer.from(state.buffer, state.byteOffset, state.byteLength));
  });

  router.put(`${base}/ydoc`, auth.requireOrgAccess("rooms:write"), express.raw({ type: "application/octet-stream", limit: maxUpdateBytes }), async (req, res) => {
    const { orgId, roomId } = await room(res, req.params.room_id);
    const writer = writerOf(res);
    if (req.is("application/octet-stream")) {
      const body: unknown = req.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new BadRequestError("The body is not a Yjs update", "invalid_update");
      await documents.write(orgId, roomId, new Uint8Array(body.buffer, body.byteOffset, body.byteLength), writer);
    } else {
      const input = parseInput(changesSchema, req.body);
      const changes = ("changes" in input ? input.changes : [input]) as JsonChange[];
      await documents.change(orgId, roomId, (doc) => buildUpdate(doc, changes), writer);
    }
    res.status(204).end();
  });

  router.post(`${base}/broadcast`, auth.requireOrgAccess("rooms:write"), async (req, res) => {
    const event = parseInput(broadcastSchema, req.body);
    const { orgId, roomId } = await room(res, req.params.room_id);
    events.fromServer(orgId, roomId, event);
    res.status(204).end();
  });

  return router;
}

/**
 * Who a REST write is, for the comment guard: a member writes as their own account (the id their
 * dashboard tokens carry), an API key as nobody ("", which no comment, thread or reaction names).
 * Either may change content; comments go through the comments API, where the backend names the
 * user it acts for.
 */
function writerOf(res: Response): RuleWriter {
  const { actor } = orgAccessOf(res);
  return { userId: actor.kind === "user" ? actor.userId : "", canWrite: true, canWriteComments: true };
}

function buildUpdate(doc: Y.Doc, changes: JsonChange[]): Uint8Array | null {
  try {
    return updateFromChanges(doc, changes);
  } catch (error) {
    if (error instanceof RootTypeMismatch) throw new ConflictError(error.message, "ydoc_type_mismatch");
    if (error instanceof RangeError) throw new BadRequestError(error.message, "validation_failed");
    throw error;
  }
}

function decodeStateVector(text: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  try {
    Y.decodeStateVector(bytes);
    if (bytes.length === 0) throw new RangeError("empty");
  } catch {
    throw new BadRequestError("state_vector is not a base64 Yjs state vector", "invalid_state_vector");
  }
  return bytes;
}
