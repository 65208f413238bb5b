/**
 * Broadcast events for apps on the stock y-websocket provider (`/yjs`), which has no stateless
 * messages: SyncForge carries them as message type 100 (protocol/events.ts), read through the
 * provider's public `messageHandlers` and sent on its socket. The provider must be created with
 * `params: { token, stateless: "1" }`, or the server sends it none:
 *
 *   const provider = new WebsocketProvider(`${server}/yjs`, roomId, doc, { params: { token, stateless: "1" } });
 *   const events = attachYwsEvents(provider);
 *   events.customEvent.subscribe(({ user, event }) => …);
 *   events.broadcast({ type: "ping" });
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { makeEventSource, type Observable } from "./event-source.ts";
import { SyncForgeError, type Json } from "./types.ts";
import type { CustomEvent } from "./room.ts";
import { encodeBroadcast, parseEventMessage, YWS_STATELESS_MESSAGE, YWS_STATELESS_PARAM } from "../../protocol/events.ts";

/** What attachYwsEvents needs of a y-websocket WebsocketProvider (its public fields). */
export interface YwsProviderLike {
  messageHandlers: Array<(encoder: encoding.Encoder, decoder: decoding.Decoder, provider: unknown, emitSynced: boolean, messageType: number) => void>;
  ws: { send(data: Uint8Array): void; readyState: number } | null;
  wsconnected: boolean;
  params: Record<string, string>;
}

export interface YwsEvents {
  /** Send a JSON event to everyone else in the room; false when the socket is not connected (nothing sent). */
  broadcast(event: Json): boolean;
  customEvent: Observable<CustomEvent>;
  /** Refused broadcasts (broadcast_forbidden, event_too_large, event_rate_limited). */
  error: Observable<SyncForgeError>;
  /** Every stateless JSON message the server sent (activity, notifications, events). */
  stateless: Observable<string>;
  detach(): void;
}

export function attachYwsEvents(provider: YwsProviderLike): YwsEvents {
  const customEvents = makeEventSource<CustomEvent>();
  const errors = makeEventSource<SyncForgeError>();
  const stateless = makeEventSource<string>();
  // Kept for reconnects, whose URL is made from `params`.
  provider.params[YWS_STATELESS_PARAM] = "1";
  provider.messageHandlers[YWS_STATELESS_MESSAGE] = (_encoder, decoder) => {
    const payload = decoding.readVarString(decoder);
    stateless.notify(payload);
    const message = parseEventMessage(payload);
    if (message?.type === "sf:event") customEvents.notify({ user: message.user, connectionId: message.connectionId, event: message.event as Json });
    else if (message) errors.notify(new SyncForgeError(message.code, message.message));
  };
  return {
    broadcast(event) {
      const ws = provider.ws;
      if (!provider.wsconnected || ws === null || ws.readyState !== 1) return false;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, YWS_STATELESS_MESSAGE);
      encoding.writeVarString(encoder, encodeBroadcast(event));
      ws.send(encoding.toUint8Array(encoder));
      return true;
    },
    customEvent: customEvents.observable,
    error: errors.observable,
    stateless: stateless.observable,
    detach() {
      delete provider.messageHandlers[YWS_STATELESS_MESSAGE];
      customEvents.clear();
      errors.clear();
      stateless.clear();
    },
  };
}
