/**
 * The events an endpoint can subscribe to, with Liveblocks' names, and the payload every delivery
 * carries: `{ type, data: { orgId, roomId?, …, createdAt } }` (Liveblocks names the tenant
 * `projectId`; ours is the organisation). docs/webhooks.md lists each event's data.
 */
export const WEBHOOK_EVENTS = [
  "userEntered",
  "userLeft",
  "roomCreated",
  "roomDeleted",
  "ydocUpdated",
  "threadCreated",
  "threadResolved",
  "commentCreated",
  "commentEdited",
  "commentDeleted",
  "reactionAdded",
  "reactionRemoved",
  "notification",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENTS as readonly string[]).includes(value);
}

/** One event as the domain reports it; `data` gets orgId and createdAt added (webhookPayload). */
export interface WebhookEvent {
  type: WebhookEventType;
  orgId: string;
  data: Record<string, unknown>;
  /** When it happened (default now). */
  at?: Date;
  /** Coalesced events (ydocUpdated): one delivery per endpoint and key. */
  dedupeKey?: string;
  /** Earliest delivery (ydocUpdated is sent at the end of its window). */
  notBefore?: Date;
}

/** The JSON body of a delivery, exactly as signed. */
export function webhookPayload(event: WebhookEvent, extra: Record<string, unknown> = {}): string {
  const createdAt = (event.at ?? new Date()).toISOString();
  return JSON.stringify({ type: event.type, data: { orgId: event.orgId, ...event.data, createdAt }, ...extra });
}

/** A made-up event of `type` for `POST …/webhooks/:id/test` (marked `"test": true`). */
export function sampleEvent(orgId: string, type: WebhookEventType): WebhookEvent {
  const room = { roomId: "test-room" };
  const samples: Record<WebhookEventType, Record<string, unknown>> = {
    userEntered: { ...room, userId: "test-user", connectionId: "test-connection", userInfo: {}, numActiveUsers: 1 },
    userLeft: { ...room, userId: "test-user", connectionId: "test-connection", userInfo: {}, numActiveUsers: 0 },
    roomCreated: room,
    roomDeleted: room,
    ydocUpdated: room,
    threadCreated: { ...room, threadId: "th_test", createdBy: "test-user" },
    threadResolved: { ...room, threadId: "th_test", resolvedBy: "test-user" },
    commentCreated: { ...room, threadId: "th_test", commentId: "cm_test", createdBy: "test-user" },
    commentEdited: { ...room, threadId: "th_test", commentId: "cm_test", editedBy: "test-user" },
    commentDeleted: { ...room, threadId: "th_test", commentId: "cm_test", deletedBy: "test-user" },
    reactionAdded: { ...room, threadId: "th_test", commentId: "cm_test", emoji: "👍", userId: "test-user" },
    reactionRemoved: { ...room, threadId: "th_test", commentId: "cm_test", emoji: "👍", userId: "test-user" },
    notification: { roomId: null, userId: "test-user", kind: "mention", inboxNotificationId: "in_test" },
  };
  return { type, orgId, data: samples[type] };
}
