/**
 * Outbound webhooks' part of the composition root (issue 22), kept out of app.ts: the endpoint
 * service, the outbox, the delivery worker, the Hocuspocus extension, and the listeners that turn
 * domain events into outbox rows:
 *   roomCreated / roomDeleted   RoomService.onLifecycle, in the room's own transaction
 *   notification                NotificationService.onStored, in the notification's transaction
 *   userEntered / userLeft      extensions/webhooks.ts, per connection
 *   ydocUpdated                 extensions/webhooks.ts, one row per room per window, due at its end
 *   thread… / comment… / reaction…  the comment guard's events (comment-events.ts)
 */
import type { Router } from "express";
import type { Transaction } from "sequelize";
import type { WebhooksConfig } from "./config.ts";
import type { Database } from "../db/index.ts";
import type { AuthMiddleware } from "./http/middleware/authenticate.ts";
import type { CommentEvent } from "./domain/comments/comment-events.ts";
import type { RoomLifecycleListener } from "./domain/rooms/room-service.ts";
import type { NotificationView } from "./domain/notifications/notification-service.ts";
import { WebhookService } from "./domain/webhooks/webhook-service.ts";
import { WebhookOutbox } from "./domain/webhooks/webhook-outbox.ts";
import { WebhookWorker, type WebhookAttempt } from "./domain/webhooks/webhook-worker.ts";
import type { WebhookEvent } from "./domain/webhooks/webhook-events.ts";
import { Webhooks, type WebhookConnectionEvent } from "../extensions/webhooks.ts";
import { webhookRoutes } from "./http/routes/webhooks.ts";
import { logger } from "./logger.ts";

export interface WebhooksArea {
  service: WebhookService;
  outbox: WebhookOutbox;
  worker: WebhookWorker;
  extension: Webhooks;
  /** For RoomService.onLifecycle. */
  onRoomLifecycle: RoomLifecycleListener;
  /** For NotificationService.onStored. */
  onNotificationStored: (orgId: string, notification: NotificationView, transaction: Transaction) => Promise<void>;
  onCommentEvents: (orgId: string, roomId: string, events: CommentEvent[]) => void;
  routes(auth: AuthMiddleware): Router;
  start(): void;
  close(timeoutMs: number): Promise<void>;
}

export interface WebhooksAreaOptions {
  config: WebhooksConfig;
  db: Database;
  /** Tell the organisation's Owners that an endpoint was disabled. */
  notifyOwners: (orgId: string, data: Record<string, unknown>) => Promise<void>;
  /** Told after every delivery attempt (the live log's `webhook` entries); must return at once. */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

export function createWebhooksArea(options: WebhooksAreaOptions): WebhooksArea {
  const { config, db } = options;
  const service = new WebhookService({ db, allowPrivate: config.allowPrivate });
  const worker = new WebhookWorker({
    db,
    timeoutMs: config.timeoutMs,
    retryScheduleMs: config.retryScheduleMs,
    concurrencyPerEndpoint: config.concurrencyPerEndpoint,
    disableAfterMs: config.disableAfterMs,
    allowPrivate: config.allowPrivate,
    onAttempt: options.onAttempt,
    onDisabled: async (endpoint) => {
      service.forget(endpoint.orgId);
      await options.notifyOwners(endpoint.orgId, { endpointId: endpoint.id, url: endpoint.url });
    },
  });
  const outbox = new WebhookOutbox({
    db,
    endpointsOf: (orgId, transaction) => service.endpointsOf(orgId, transaction),
    onWritten: (endpointIds) => worker.wakeEndpoints(endpointIds),
    forget: (orgId) => service.forget(orgId),
  });
  service.onDue = () => worker.wake();

  const window = config.ydocCoalesceMs;
  const extension = new Webhooks({
    onConnection: (event: WebhookConnectionEvent) => {
      const { type, orgId, ...data } = event;
      outbox.enqueue({ type, orgId, data });
    },
    onDocumentChanged: (orgId, roomId) => {
      // One row per room and window, due at the window's end: at most one ydocUpdated per window,
      // and the row is durable from the first change of the window on.
      const end = (Math.floor(Date.now() / window) + 1) * window;
      const at = new Date(end);
      outbox.enqueue({ type: "ydocUpdated", orgId, data: { roomId, updatedAt: at.toISOString() }, at, notBefore: at, dedupeKey: `ydoc:${orgId}:${roomId}:${end}` });
    },
  });

  return {
    service,
    outbox,
    worker,
    extension,
    onRoomLifecycle: (event, transaction) => outbox.writeInTransaction({ type: event.type, orgId: event.orgId, data: { roomId: event.roomId }, at: event.at }, transaction),
    onNotificationStored: (orgId, n, transaction) =>
      outbox.writeInTransaction(
        {
          type: "notification",
          orgId,
          at: new Date(n.createdAt),
          data: { kind: n.kind, userId: n.userId, roomId: n.roomId, threadId: n.threadId, inboxNotificationId: n.id, triggeredAt: n.createdAt },
        },
        transaction,
      ),
    onCommentEvents: (orgId, roomId, events) => {
      for (const event of commentWebhookEvents(orgId, roomId, events)) outbox.enqueue(event);
    },
    routes: (auth) => webhookRoutes({ webhooks: service, auth }),
    start: () => worker.start(),
    async close(timeoutMs) {
      await outbox.drain();
      await worker.close(timeoutMs);
    },
  };
}

/** Liveblocks' comment events from the guard's: a thread's first comment is threadCreated and commentCreated. */
export function commentWebhookEvents(orgId: string, roomId: string, events: CommentEvent[]): WebhookEvent[] {
  const out: WebhookEvent[] = [];
  const add = (type: WebhookEvent["type"], data: Record<string, unknown>) => out.push({ type, orgId, data: { roomId, ...data } });
  for (const e of events) {
    switch (e.type) {
      case "comment_created":
        if (!e.isReply) add("threadCreated", { threadId: e.comment.threadId, createdBy: e.thread?.createdBy ?? e.comment.authorId });
        add("commentCreated", { threadId: e.comment.threadId, commentId: e.comment.id, createdBy: e.comment.authorId });
        break;
      case "comment_edited":
        add("commentEdited", { threadId: e.comment.threadId, commentId: e.comment.id, editedBy: e.comment.authorId });
        break;
      case "comment_deleted":
        add("commentDeleted", { threadId: e.comment.threadId, commentId: e.comment.id, deletedBy: e.comment.authorId });
        break;
      case "thread_resolved":
        add("threadResolved", { threadId: e.thread.id, resolvedBy: e.by });
        break;
      case "thread_unresolved":
        break; // not among the events (Liveblocks: threadMarkedAsUnresolved)
      case "reaction_added":
      case "reaction_removed":
        add(e.type === "reaction_added" ? "reactionAdded" : "reactionRemoved", { threadId: e.threadId, commentId: e.commentId, emoji: e.emoji, userId: e.userId });
        break;
      default:
        logger.warn("Unknown comment event; no webhook sent", { type: (e as { type: string }).type });
    }
  }
  return out;
}
