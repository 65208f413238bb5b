/**
 * End users' inbox notifications and notification settings, for an organisation's backend (API key)
 * or its members: list (newest first, cursor), unread count, mark one or all read, settings per
 * kind and channel, and triggering a notification (custom `$kind`s, added_to_room/org).
 * `:user_id` is whose inbox: any end user for an API key or an Owner/Admin, a Member's or Viewer's
 * own account id otherwise (actingUserOf). Triggering is a backend action (notifications:send).
 */
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { isNotificationKind, type NotificationService } from "../../domain/notifications/notification-service.ts";
import { endUserIdSchema } from "../../auth/access-token.ts";
import { isValidRoomId } from "../../../protocol/document-name.ts";
import { parseInput } from "../validate.ts";
import { actingUserOf, endUserOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { withFeature, type FeatureCheck } from "../middleware/require-feature.ts";
import type { RealtimePush } from "../../realtime/push.ts";

/** A comment line every so often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 25_000;

const userIdSchema = endUserIdSchema;
const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(1024).optional(),
  unread: z.enum(["true", "false"]).optional(),
});
const channelSchema = z.object({ inApp: z.boolean().optional(), email: z.boolean().optional() }).strict();
const settingsSchema = z
  .object({
    email: z.email().max(320).nullable().optional(),
    channels: z.record(z.string().refine(isNotificationKind, "a notification kind"), channelSchema).optional(),
  })
  .strict();
const triggerSchema = z
  .object({
    userId: userIdSchema,
    kind: z.string().refine((k) => isNotificationKind(k), "mention, reply, reaction, thread_resolved, added_to_room, added_to_org or a custom $kind"),
    roomId: z.string().refine(isValidRoomId, "a room id: 1 to 128 characters, no control characters or /").nullable().optional(),
    data: z.record(z.string(), z.json()).refine((d) => JSON.stringify(d).length <= 4096, "at most 4096 JSON characters").optional(),
  })
  .strict();

function target(req: Request, res: Response): { orgId: string; userId: string } {
  const requested = parseInput(userIdSchema, req.params.user_id, "Path parameter user_id");
  return { orgId: String(req.params.org_id), userId: actingUserOf(res, requested) };
}

export interface NotificationRoutesOptions {
  notifications: NotificationService;
  auth: AuthMiddleware;
  /** Live messages for the event stream. */
  push: Pick<RealtimePush, "listenToUser">;
  /** Plan features: the trigger needs notifications (docs/billing.md); absent: allowed. */
  features?: FeatureCheck;
}

export function notificationRoutes({ notifications, auth, push, features }: NotificationRoutesOptions): Router {
  const router = Router();
  const base = "/organizations/:org_id/users/:user_id";
  const read = auth.requireOrgAccess("rooms:read", { endUser: "own_inbox" });
  const write = auth.requireOrgAccess("rooms:write", { endUser: "own_inbox" });

  router.get(`${base}/inbox-notifications/events`, read, (req, res) => {
    const { orgId, userId } = target(req, res);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
    res.write(": connected\n\n");
    const stop = push.listenToUser(orgId, userId, {
      message: (payload) => res.write(`data: ${payload}\n\n`),
      end: () => res.end(),
    });
    const heartbeat = setInterval(() => res.write(": ping\n\n"), HEARTBEAT_MS);
    const endUser = endUserOf(res);
    const expiry = endUser ? setTimeout(() => res.end(), Math.max(0, endUser.expiresAt - Date.now())) : null;
    res.on("close", () => {
      stop();
      clearInterval(heartbeat);
      if (expiry) clearTimeout(expiry);
    });
  });

  router.get(`${base}/inbox-notifications`, read, async (req, res) => {
    const { orgId, userId } = target(req, res);
    const q = parseInput(listSchema, req.query, "Query");
    const page = await notifications.list(orgId, userId, { limit: q.limit, cursor: q.cursor, unread: q.unread === "true" });
    res.json({ ...page, unreadCount: await notifications.unreadCount(orgId, userId) });
  });

  router.get(`${base}/inbox-notifications/unread-count`, read, async (req, res) => {
    const { orgId, userId } = target(req, res);
    res.json({ count: await notifications.unreadCount(orgId, userId) });
  });

  router.post(`${base}/inbox-notifications/read-all`, write, async (req, res) => {
    const { orgId, userId } = target(req, res);
    res.json({ updated: await notifications.markAllRead(orgId, userId) });
  });

  router.post(`${base}/inbox-notifications/:notification_id/read`, write, async (req, res) => {
    const { orgId, userId } = target(req, res);
    res.json(await notifications.markRead(orgId, userId, String(req.params.notification_id).slice(0, 64)));
  });

  router.get(`${base}/notification-settings`, read, async (req, res) => {
    const { orgId, userId } = target(req, res);
    res.json(await notifications.getSettings(orgId, userId));
  });

  router.post(`${base}/notification-settings`, write, async (req, res) => {
    const { orgId, userId } = target(req, res);
    res.json(await notifications.updateSettings(orgId, userId, parseInput(settingsSchema, req.body)));
  });

  const send = withFeature(auth.requireOrgAccess("notifications:send"), features, "notifications");
  router.post("/organizations/:org_id/inbox-notifications/trigger", send, async (req, res) => {
    const orgId = String(req.params.org_id);
    const input = parseInput(triggerSchema, req.body);
    const notification = await notifications.notify({ orgId, userId: input.userId, kind: input.kind, roomId: input.roomId ?? null, data: input.data as Record<string, unknown> | undefined });
    res.status(201).json({ notification });
  });

  return router;
}
