/**
 * A bare `ws` client for tests that must send what no provider would: hand-built Hocuspocus
 * frames (varString(address) · varUint(type) · payload), garbage, text, oversized frames.
 */
import WebSocket from "ws";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { MessageType, SyncStep } from "../../protocol/messages.ts";

export interface RawSocket {
  ws: WebSocket;
  /** Every binary message received, in order. */
  received: Uint8Array[];
  /** Resolves with the close code and reason once the socket has closed. */
  closed: Promise<{ code: number; reason: string }>;
  send(data: Uint8Array | string): void;
  close(): Promise<void>;
}

/** Open a socket and resolve once it is open. */
export async function openRawSocket(url: string): Promise<RawSocket> {
  const ws = new WebSocket(url);
  const received: Uint8Array[] = [];
  ws.binaryType = "nodebuffer";
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary) received.push(new Uint8Array(data));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  // An error (e.g. our own oversized frame refused) is followed by "close"; keep it from throwing.
  ws.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("close", () => reject(new Error("closed before opening")));
  });
  return {
    ws,
    received,
    closed,
    send: (data) => ws.send(data),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.terminate();
      await closed;
    },
  };
}

/** varString(address) varUint(Auth) varUint(0 = token) varString(token) */
export function authFrame(address: string, token: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, MessageType.Auth);
  encoding.writeVarUint(e, 0);
  encoding.writeVarString(e, token);
  return encoding.toUint8Array(e);
}

/** A sync step 1 with an empty state vector: asks the server for the whole document. */
export function syncStep1Frame(address: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, MessageType.Sync);
  encoding.writeVarUint(e, SyncStep.Step1);
  encoding.writeVarUint8Array(e, new Uint8Array([0]));
  return encoding.toUint8Array(e);
}

/** varString(address) varUint(Sync) varUint(Update) varUint8Array(update) */
export function updateFrame(address: string, update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, MessageType.Sync);
  encoding.writeVarUint(e, SyncStep.Update);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
}

/** The message type of a received frame, and for Auth replies the auth sub-type. */
export function frameType(frame: Uint8Array): { address: string; type: number; sub: number | null } {
  const d = decoding.createDecoder(frame);
  const address = decoding.readVarString(d);
  const type = decoding.readVarUint(d);
  const sub = decoding.hasContent(d) ? decoding.readVarUint(d) : null;
  return { address, type, sub };
}

/** Auth reply sub-types (@hocuspocus/common AuthMessageType). */
export const AuthReply = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const;

/** Resolve once an Authenticated reply has arrived; reject on PermissionDenied. */
export function waitForAuthenticated(socket: RawSocket, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      for (const frame of socket.received) {
        const t = frameType(frame);
        if (t.type === MessageType.Auth && t.sub === AuthReply.Authenticated) return resolve();
        if (t.type === MessageType.Auth && t.sub === AuthReply.PermissionDenied) return reject(new Error("permission denied"));
      }
      if (Date.now() - started > timeoutMs) return reject(new Error("timed out waiting for authentication"));
      setTimeout(tick, 10);
    };
    tick();
  });
}
