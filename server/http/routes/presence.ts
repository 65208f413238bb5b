/**
 * Who is in a room right now, across every server process:
 * GET /organizations/:org_id/rooms/:room_id/active-users → { data: [{ id, info, connections }] }
 * (Liveblocks' "get active users"; `connections` counts a user's open tabs and devices).
 */
import { Router } from "express";
import type { RoomService } from "../../domain/rooms/room-service.ts";
import type { PresenceService } from "../../domain/presence/index.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

export function presenceRoutes({ auth, rooms, presence }: { auth: AuthMiddleware; rooms: RoomService; presence: PresenceService }): Router {
  const router = Router();
  router.get("/organizations/:org_id/rooms/:room_id/active-users", auth.requireOrgAccess("rooms:read"), async (req, res) => {
    const orgId = orgOf(res).id;
    const roomId = String(req.params.room_id);
    await rooms.get(orgId, roomId); // 404 room_not_found for a room that does not exist
    res.json({ data: await presence.activeUsers({ orgId, roomId }) });
  });
  return router;
}
