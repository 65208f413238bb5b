/**
 * Notification and activity wire shapes: what the server pushes as Hocuspocus stateless messages
 * (`sf:notification` to every socket of the user, `sf:activity` / `sf:activity_updated` to every
 * connection of a room) and what the REST inbox and feed answer. Shared by the server, which
 * writes them, and the SDK, which reads them (docs/notifications.md).
 */

export interface InboxNotification {
  id: string;
  kind: string;
  userId: string;
  roomId: string | null;
  threadId: string | null;
  commentId: string | null;
  actorId: string | null;
  data: Record<string, unknown>;
  readAt: string | null;
  createdAt: string;
}

export interface ActivityItem {
  id: string;
  kind: string;
  roomId: string;
  actorId: string | null;
  threadId: string | null;
  commentId: string | null;
  data: Record<string, unknown>;
  count: number;
  createdAt: string;
  updatedAt: string;
}

export type ServerMessage =
  | { type: "sf:notification"; notification: InboxNotification }
  | { type: "sf:activity"; activity: ActivityItem }
  | { type: "sf:activity_updated"; activity: ActivityItem };

/** Parse a stateless payload; null for anything that is not one of ours. */
export function parseServerMessage(payload: string): ServerMessage | null {
  try {
    const message = JSON.parse(payload) as { type?: unknown };
    if (message.type === "sf:notification" && typeof (message as { notification?: { id?: unknown } }).notification?.id === "string") return message as ServerMessage;
    if ((message.type === "sf:activity" || message.type === "sf:activity_updated") && typeof (message as { activity?: { id?: unknown } }).activity?.id === "string")
      return message as ServerMessage;
    return null;
  } catch {
    return null;
  }
}
