/**
 * Broadcast events: JSON a client (or the app's backend, over REST) sends to everyone else in a
 * room, never stored. Shared by the server, which checks, stamps and fans them out
 * (server/realtime/room-events.ts), and the SDK, which sends and reads them (docs/sdk.md).
 *
 * They travel as JSON text in Hocuspocus stateless messages on /collab, and on /yjs as message type
 * YWS_STATELESS_MESSAGE (below), which carries the same JSON text:
 *   client → server  `{ "type": "sf:broadcast", "event": <JSON> }`
 *   server → client  `{ "type": "sf:event", "user": { "id", "info" } | null, "connectionId": n, "event": <JSON> }`
 *                    (`user` null and `connectionId` −1 when the app's backend sent it over REST)
 *   server → sender  `{ "type": "sf:event_refused", "code", "message" }` when an event was not delivered.
 */

/**
 * The y-websocket message type of SyncForge's stateless messages on /yjs: varUint(100) ·
 * varString(JSON), the same JSON a /collab stateless message carries, both ways. Far above
 * y-websocket's types (0–3) and Hocuspocus' (0–10). Sent to a /yjs client only when its URL asks
 * with `stateless=1`: the stock provider logs "Unable to compute message" for a type it does not
 * know (and otherwise ignores it).
 */
export const YWS_STATELESS_MESSAGE = 100;
/** The /yjs query parameter that asks for YWS_STATELESS_MESSAGE messages. */
export const YWS_STATELESS_PARAM = "stateless";

/** The connectionId of an event the app's backend sent (REST), as Liveblocks marks server events. */
export const SERVER_CONNECTION_ID = -1;

export interface EventSender {
  id: string;
  info: Record<string, unknown>;
}

/** A received event, as every other connection of the room gets it. */
export interface RoomEventMessage<E = unknown> {
  type: "sf:event";
  /** Who sent it, from their verified access token; null when the app's backend sent it. */
  user: EventSender | null;
  /** The sender connection's Yjs client id (`User.connectionId`), −1 for the backend. */
  connectionId: number;
  event: E;
}

export interface EventRefusedMessage {
  type: "sf:event_refused";
  code: EventRefusal;
  message: string;
}

/** Why an event was not delivered (only its sender is told). */
export type EventRefusal = "broadcast_forbidden" | "event_too_large" | "event_rate_limited" | "event_invalid";

export function encodeBroadcast(event: unknown): string {
  return JSON.stringify({ type: "sf:broadcast", event });
}

/**
 * The event of a client's broadcast payload: `{ found: false }` for any other stateless payload
 * (left to other features), `{ found: true, event: undefined }` for a broadcast without an event.
 */
export function readBroadcast(payload: string): { found: false } | { found: true; event: unknown } {
  // Cheap test first: most stateless payloads are not ours.
  if (!payload.includes('"sf:broadcast"')) return { found: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return { found: false };
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as { type?: unknown }).type !== "sf:broadcast") return { found: false };
  return { found: true, event: (parsed as { event?: unknown }).event };
}

/** A server → client event message, or a refusal, from a stateless payload; null for anything else. */
export function parseEventMessage(payload: string): RoomEventMessage | EventRefusedMessage | null {
  if (!payload.includes('"sf:event')) return null;
  try {
    const message = JSON.parse(payload) as { type?: unknown; connectionId?: unknown; code?: unknown } | null;
    if (message?.type === "sf:event" && typeof message.connectionId === "number" && "event" in message) return message as RoomEventMessage;
    if (message?.type === "sf:event_refused" && typeof message.code === "string") return message as EventRefusedMessage;
    return null;
  } catch {
    return null;
  }
}
