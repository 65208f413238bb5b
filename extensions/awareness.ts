/**
 * Connects presence (server/realtime/presence/) to Hocuspocus' connection lifecycle: `connected`
 * makes each document connection a member of its room (which sends it the room's states, and
 * removes them when the connection closes), and `afterHandleMessage` counts the document messages
 * Hocuspocus has finished, which orders a client's awareness after the document updates it sent
 * before it.
 */
import type { Extension, connectedPayload, afterHandleMessagePayload } from "@hocuspocus/server";
import * as decoding from "lib0/decoding";
import type { PresenceHub } from "../server/realtime/presence/presence-hub.ts";
import { MessageType } from "../protocol/messages.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";

export class Awareness implements Extension {
  extensionName = "syncforge-awareness";
  // Before every other `connected` hook: nothing may await I/O before presence knows the connection.
  priority = 1000;

  private readonly hub: PresenceHub;

  constructor(hub: PresenceHub) {
    this.hub = hub;
  }

  async connected({ connection, documentName, context }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext>;
    const presence = ctx.socket?.awareness;
    if (!presence || !ctx.userId) return;
    const address = connection.sessionId ? `${documentName}\u0000${connection.sessionId}` : documentName;
    presence.attach(address, connection, { userId: ctx.userId, userInfo: ctx.userInfo ?? {}, access: ctx.access });
  }

  async afterHandleMessage({ connection, update }: afterHandleMessagePayload): Promise<void> {
    if (isDocumentMessage(update)) this.hub.processed(connection);
  }
}

/** Everything presence counts on the way in: not awareness or QueryAwareness (never reach here) and not Auth. */
function isDocumentMessage(message: Uint8Array): boolean {
  try {
    const decoder = decoding.createDecoder(message);
    decoding.readVarString(decoder);
    return decoding.readVarUint(decoder) !== MessageType.Auth;
  } catch {
    return false;
  }
}
