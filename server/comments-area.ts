/**
 * The comments area's part of the composition root (kept out of app.ts so that file stays small):
 * the comment guard extension, notifications, activity, server-side comment writes through
 * Hocuspocus direct connections, the live push path, and the REST routes. app.ts creates it,
 * adds `extension` to Hocuspocus, mounts `routes(auth)` under /api and awaits `close()`.
 */
import type { Hocuspocus } from "@hocuspocus/server";
import type { Router } from "express";
import type { Redis as IORedis } from "ioredis";
import * as Y from "yjs";
import type { Config } from "./config.ts";
import type { Database } from "../db/index.ts";
import type { Persistence } from "../extensions/persistence.ts";
import type { DocumentStore } from "./domain/documents/document-store.ts";
import type { AuthMiddleware } from "./http/middleware/authenticate.ts";
import { Comments } from "../extensions/comments.ts";
import { CommentService, type RoomDocuments } from "./domain/comments/comment-service.ts";
import { createCommentNotifier } from "./domain/comments/comment-notifier.ts";
import { NotificationService } from "./domain/notifications/notification-service.ts";
import { ActivityService } from "./domain/activity/activity-service.ts";
import { RealtimePush } from "./realtime/push.ts";
import { toDocumentName } from "../protocol/document-name.ts";
import { commentRoutes } from "./http/routes/comments.ts";
import { notificationRoutes } from "./http/routes/notifications.ts";
import { logger } from "./logger.ts";
import type { Observable, Unsubscribe } from "./domain/event-source.ts";
import type { LiveLogRecorder } from "./domain/live-log/live-log.ts";
import { commentEntries } from "./domain/live-log/comment-entries.ts";
import type { CommentEvent } from "./domain/comments/comment-events.ts";
import type { Entitlements } from "./domain/billing/entitlements.ts";
import type { UsageMeter } from "./domain/usage/usage-meter.ts";

export interface CommentsArea {
  extension: Comments;
  comments: CommentService;
  notifications: NotificationService;
  activity: ActivityService;
  push: RealtimePush;
  routes(auth: AuthMiddleware): Router[];
  /**
   * Take first joins from presence's userEntered events (once per user entering a room, across
   * processes) instead of every connection's `connected` hook.
   */
  useJoinEvents(events: Observable<{ type: string; orgId: string; roomId: string; userId: string }>): void;
  close(): Promise<void>;
}

export interface CommentsAreaOptions {
  config: Config;
  db: Database;
  redis: IORedis | null;
  mailer: { send(message: { to: string; subject: string; text: string }): Promise<void> } | null;
  hocuspocus: () => Hocuspocus;
  persistence: Persistence;
  /** Read for catching a live document up with what other processes made durable. */
  store: Pick<DocumentStore, "replay">;
  /** Who owns a Yjs client id in a document, from presence (the guard's client_id_taken). */
  ownerOf?: (documentName: string, clientId: number) => string | undefined;
  activityWindowMs?: number;
  /** Comment writes (REST and sockets) go to the organisation's live log. */
  liveLog?: LiveLogRecorder;
  /** Also told of every batch of comment events (webhooks). */
  onCommentEvents?: (orgId: string, roomId: string, events: CommentEvent[]) => void;
  /** Plan features: comment writes and notifications need them (docs/billing.md); absent: all allowed. */
  entitlements?: Pick<Entitlements, "peek" | "hasFeature" | "assertFeature">;
  /** Usage metering: messages, comments, notifications. */
  meter?: Pick<UsageMeter, "countMessage" | "countComment" | "countNotification">;
}

export async function createCommentsArea(options: CommentsAreaOptions): Promise<CommentsArea> {
  const { config, db } = options;
  const push = new RealtimePush({
    hocuspocus: options.hocuspocus,
    redis: options.redis && config.redis ? { client: options.redis, url: config.redis.url, prefix: config.redis.prefix } : null,
  });
  await push.start();
  const notifications = new NotificationService({
    db,
    mailer: options.mailer,
    push: (orgId, userId, message) => push.toUser(orgId, userId, message),
    publicUrl: config.http.publicUrl,
    allowed: options.entitlements ? (orgId) => options.entitlements!.hasFeature(orgId, "notifications") : undefined,
    onSent: (orgId) => options.meter?.countNotification(orgId),
  });
  const activity = new ActivityService({
    db,
    push: (orgId, roomId, message) => push.toRoom(orgId, roomId, message),
    windowMs: options.activityWindowMs,
  });
  const notifier = createCommentNotifier({ notify: (input) => notifications.notify(input), record: (input) => activity.record(input) });
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.catch((error: Error) => logger.error("Comment side effect failed", { error: error.message })).finally(() => pending.delete(p));
  };

  let unsubscribeJoins: Unsubscribe | null = null;
  const extension = new Comments({
    guard: config.comments.guard,
    ownerOf: options.ownerOf,
    onCommentEvents: (orgId, roomId, events) => {
      for (const entry of commentEntries(orgId, roomId, events)) options.liveLog?.record(entry);
      options.onCommentEvents?.(orgId, roomId, events);
      for (const event of events) if (event.type === "comment_created") options.meter?.countComment(orgId);
      track(notifier(orgId, roomId, events));
    },
    commentsAllowed: options.entitlements ? (orgId) => commentsAllowed(options.entitlements!, orgId) : undefined,
    onDocumentUpdate: options.meter ? (orgId) => options.meter!.countMessage(orgId) : undefined,
    onDocumentEdited: (orgId, roomId, userId) => activity.recordEdit(orgId, roomId, userId),
    catchUp: async (documentName, document) => {
      // Origin "redis": like updates relayed from other processes, these are neither logged again
      // nor reported as comment events here (the process that took them in did that).
      await options.store.replay(documentName, document, { origin: { source: "redis", catchUp: true } });
    },
    onUserConnected: (orgId, roomId, userId) => {
      if (!unsubscribeJoins) track(activity.recordJoin(orgId, roomId, userId));
    },
  });

  const docs: RoomDocuments = {
    async transact<T>(orgId: string, roomId: string, fn: (doc: Y.Doc) => T): Promise<T> {
      const name = toDocumentName(orgId, roomId);
      const connection = await options.hocuspocus().openDirectConnection(name, { orgId, roomId, userId: null, server: true });
      try {
        let result!: T;
        let failure: unknown = null;
        await connection.transact((doc) => {
          try {
            result = fn(doc);
          } catch (error) {
            failure = error;
          }
        });
        if (failure) throw failure;
        await options.persistence.flushDocument(name);
        // A server-side write (REST comments) is a message as much as a client's update.
        options.meter?.countMessage(orgId);
        return result;
      } finally {
        await connection.disconnect({ unloadImmediately: false });
      }
    },
    /** The live copy when this process holds the room, else what is durable: no store, no lock. */
    async read<T>(orgId: string, roomId: string, fn: (doc: Y.Doc) => T): Promise<T> {
      const name = toDocumentName(orgId, roomId);
      const live = options.hocuspocus().documents.get(name);
      if (live) return fn(live);
      const doc = new Y.Doc();
      try {
        await options.store.replay(name, doc);
        return fn(doc);
      } finally {
        doc.destroy();
      }
    },
  };
  const comments = new CommentService(docs);

  return {
    extension,
    comments,
    notifications,
    activity,
    push,
    routes: (auth) => [
      commentRoutes({ comments, activity, auth, features: options.entitlements }),
      notificationRoutes({ notifications, auth, push, features: options.entitlements }),
    ],
    useJoinEvents(events) {
      unsubscribeJoins?.();
      unsubscribeJoins = events.subscribe((event) => {
        if (event.type === "userEntered") track(activity.recordJoin(event.orgId, event.roomId, event.userId));
      });
    },
    async close() {
      unsubscribeJoins?.();
      // Side effects can start while earlier ones settle (the last messages of closing sockets).
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await activity.close();
      await notifications.drain();
      await push.close();
    },
  };
}

/** From memory when the organisation's plan is loaded (it is, for any connected client): no await per message. */
function commentsAllowed(entitlements: Pick<Entitlements, "peek" | "hasFeature">, orgId: string): boolean | Promise<boolean> {
  const known = entitlements.peek(orgId);
  return known ? known.features.has("comments") : entitlements.hasFeature(orgId, "comments");
}
