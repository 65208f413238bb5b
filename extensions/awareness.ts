/**
 * Connects the socket edges' AwarenessGate (server/realtime/awareness-gate.ts) to Hocuspocus:
 * `connected` hands the gate the Connection of each document (the one it applies awareness
 * through), and `afterHandleMessage` counts the document messages Hocuspocus has finished, which
 * orders a client's awareness after the document updates it sent before it.
 */
import type { Extension, connectedPayload, afterHandleMessagePayload } from "@hocuspocus/server";
import * as decoding from "lib0/decoding";
import { AwarenessGate } from "../server/realtime/awareness-gate.ts";
import { MessageType } from "../protocol/messages.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";

export class Awareness implements Extension {
  extensionName = "syncforge-awareness";
  // Before every other `connected` hook: nothing may await I/O before the gate knows the connection.
  priority = 1000;

  async connected({ connection, documentName, context }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext>;
    const gate = ctx.socket?.awareness;
    if (!gate || !ctx.userId) return;
    const address = connection.sessionId ? `${documentName}\u0000${connection.sessionId}` : documentName;
    gate.attach(address, connection, { userId: ctx.userId, userInfo: ctx.userInfo ?? {}, access: ctx.access });
  }

  async afterHandleMessage({ connection, update }: afterHandleMessagePayload): Promise<void> {
    if (isDocumentMessage(update)) AwarenessGate.processed(connection);
  }
}

/** Everything the gate counts on the way in: not awareness (never reaches here) and not Auth. */
function isDocumentMessage(message: Uint8Array): boolean {
  try {
    const decoder = decoding.createDecoder(message);
    decoding.readVarString(decoder);
    return decoding.readVarUint(decoder) !== MessageType.Auth;
  } catch {
    return false;
  }
}
