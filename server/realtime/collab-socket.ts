/**
 * The edge between a `ws` WebSocket and Hocuspocus' ClientConnection for `/collab`.
 *
 * Clients address rooms by their plain id; documents are named per organisation on the server
 * (document-name.ts). Inbound, the address of each message is rewritten to the internal name: the
 * organisation comes from the access token in the Auth message that opens each address (read, not
 * trusted — onAuthenticate verifies it and checks it matches). Outbound, Connection.messageAddress
 * already gives the plain id (see hocuspocus.ts); only the few replies Hocuspocus addresses by the
 * raw key (authenticated / permission denied) carry the internal name, recognised by its first
 * byte and rewritten here.
 *
 * Malformed frames close only this socket (4400), text frames 1003, oversized frames 1009 (ws).
 */
import type { WebSocket, RawData } from "ws";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import type { Hocuspocus } from "@hocuspocus/server";

type ClientConnection = ReturnType<Hocuspocus["handleConnection"]>;
import { MessageType, readPayload, toUint8Array, validateClientMessage } from "./messages.ts";
import { peekTokenOrg } from "../auth/access-token.ts";
import { clientAddressOf, INTERNAL_MARK, isValidRoomId, toDocumentName } from "./document-name.ts";
import { logger } from "../logger.ts";
import { AwarenessGate, ownAwarenessEchoAddress, type AwarenessLimits } from "./awareness-gate.ts";
import { AwarenessRejected } from "./awareness.ts";
import { sendBinary } from "./broadcast-frame.ts";
import { MessageRate, type MessageRateLimits } from "./message-rate.ts";
import { createDetachedRealtimeMetrics, type RealtimeMetrics } from "../metrics.ts";

export const CloseCodes = {
  MalformedMessage: { code: 4400, reason: "malformed_message" },
  Unauthorized: { code: 4401, reason: "unauthorized" },
  /** The key or member that minted the token was revoked, removed, or may no longer grant it. */
  TokenRevoked: { code: 4401, reason: "token_revoked" },
  Forbidden: { code: 4403, reason: "forbidden" },
  /** The room was deleted (live connections), or deleted after the token was minted (new ones). */
  RoomDeleted: { code: 4404, reason: "room_deleted" },
  /** The room does not exist and the token may not create it (no room:write). */
  RoomNotFound: { code: 4404, reason: "room_not_found" },
  TooManyRequests: { code: 4429, reason: "rate_limited" },
  UnsupportedData: { code: 1003, reason: "binary_frames_only" },
} as const;

/**
 * The close code for a reason the server closes a live document with (Hocuspocus' Close message
 * carries only the reason): final refusals keep their 44xx code on every endpoint.
 */
export function closeCodeForReason(reason: string): number | undefined {
  for (const entry of [CloseCodes.TokenRevoked, CloseCodes.RoomDeleted]) if (entry.reason === reason) return entry.code;
  return undefined;
}

const MAX_QUEUED_BEFORE_AUTH = 200;
const MAX_ADDRESSES = 100;
const MARK = INTERNAL_MARK.charCodeAt(0);

/** What hooks may do with the socket a connection came in on (/collab or /yjs). */
export interface RealtimeSocket {
  readonly awareness: AwarenessGate;
  refuse(internalName: string, code: number, reason: string): void;
  close(code?: number, reason?: string): void;
}

/** Present in the Hocuspocus context of every connection, so hooks can act on the socket. */
export interface SocketContext {
  socket: RealtimeSocket;
  remoteAddress: string;
}

/** Limits every realtime edge applies per socket (config.realtime), and where it counts them. */
export interface EdgeOptions {
  awareness: AwarenessLimits;
  documentMessages: MessageRateLimits;
  metrics: RealtimeMetrics;
}

export const DEFAULT_EDGE_OPTIONS: EdgeOptions = {
  awareness: { maxStateBytes: 8192, updatesPerSecond: 60 },
  documentMessages: { perSecond: 200, burst: 400 },
  metrics: createDetachedRealtimeMetrics(),
};

export class CollabSocket {
  private readonly ws: WebSocket;
  private connection: ClientConnection | null = null;
  /** client raw key (room or room\0session) → internal raw key */
  private readonly addresses = new Map<string, string>();
  private readonly waiting = new Map<string, Uint8Array[]>();
  private closed = false;
  readonly awareness: AwarenessGate;
  private readonly rate: MessageRate;
  private readonly metrics: RealtimeMetrics;

  constructor(ws: WebSocket, options: EdgeOptions = DEFAULT_EDGE_OPTIONS) {
    this.ws = ws;
    this.metrics = options.metrics;
    this.awareness = new AwarenessGate(options.awareness, options.metrics);
    this.rate = new MessageRate({
      limits: options.documentMessages,
      metrics: options.metrics,
      socket: ws,
      deliver: (message) => this.connection?.handleMessage(message),
      overflow: () => this.close(CloseCodes.TooManyRequests.code, CloseCodes.TooManyRequests.reason),
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  /** Wire the socket to Hocuspocus; called once per accepted upgrade. */
  static accept(ws: WebSocket, request: Request, hocuspocus: Hocuspocus, remoteAddress: string, options?: EdgeOptions): CollabSocket {
    const socket = new CollabSocket(ws, options);
    const context: SocketContext = { socket, remoteAddress };
    socket.connection = hocuspocus.handleConnection(socket, request, context);
    ws.on("message", (data, isBinary) => socket.receive(data, isBinary));
    ws.on("close", (code, reason) => {
      socket.closed = true;
      socket.rate.stop();
      socket.awareness.forget();
      socket.connection?.handleClose({ code, reason: reason.toString() });
    });
    ws.on("error", (error) => {
      logger.warn("WebSocket error", { error: error.message, remoteAddress });
    });
    return socket;
  }

  send(data: Uint8Array | ArrayBufferLike | string | Blob | ArrayBufferView): void {
    if (this.ws.readyState !== 1) return;
    if (data instanceof Uint8Array) {
      const echo = ownAwarenessEchoAddress(this.awareness);
      if (echo !== null && isAwarenessFor(data, echo)) return;
      sendBinary(this.ws, this.outbound(data));
    } else {
      this.ws.send(data as Buffer);
    }
  }

  /** For the awareness fan-out (awareness-gate.ts): this socket takes whole messages, already addressed to the client's room id. */
  broadcastTarget(): { ws: WebSocket; bodyOnly: boolean } {
    return { ws: this.ws, bodyOnly: false };
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
  }

  /**
   * Refuse one document: after Hocuspocus has sent its permission-denied message, close the socket
   * with `code` unless the socket still carries other documents.
   */
  refuse(internalName: string, code: number, reason: string): void {
    for (const [client, internal] of this.addresses) {
      const plain = internal.split("\u0000")[0];
      if (plain === internalName) {
        this.addresses.delete(client);
        this.awareness.forget(internal);
      }
    }
    setImmediate(() => {
      if (this.addresses.size === 0) this.close(code, reason);
    });
  }

  private receive(raw: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) {
      this.close(CloseCodes.UnsupportedData.code, CloseCodes.UnsupportedData.reason);
      return;
    }
    const data = toUint8Array(raw);
    // The provider answers a server Ping with a bare one-byte Pong that has no address.
    if (data.length === 1 && data[0] === MessageType.Pong) return;
    let rewritten: Uint8Array | null;
    try {
      // Read the whole message before Hocuspocus does: a malformed one must close this socket
      // here, not reach the update log or Yjs (see validateClientMessage).
      validateClientMessage(data);
      rewritten = this.inbound(data);
    } catch (error) {
      // AwarenessRejected carries its own code (4413 oversized state); anything else is 4400.
      const close = error instanceof AwarenessRejected ? error : CloseCodes.MalformedMessage;
      logger.info("Closing a connection that sent a malformed message", { error: (error as Error).message, code: close.code });
      this.metrics.connectionsClosed.inc({ code: String(close.code) });
      this.close(close.code, close.reason);
      return;
    }
    if (rewritten) this.rate.submit(rewritten);
  }

  /** Rewrite an inbound message's address; null when it is held until its Auth message. */
  private inbound(data: Uint8Array): Uint8Array | null {
    const decoder = decoding.createDecoder(data);
    const address = decoding.readVarString(decoder);
    const bodyStart = decoder.pos;
    const type = decoding.readVarUint(decoder);
    let internal = this.addresses.get(address);
    if (internal === undefined) {
      if (type !== MessageType.Auth) {
        this.hold(address, data);
        return null;
      }
      decoding.readVarUint(decoder); // auth sub-type
      const token = decoding.readVarString(decoder);
      internal = this.internalAddress(address, token);
      if (this.addresses.size >= MAX_ADDRESSES) throw new Error("too many documents on one connection");
      this.addresses.set(address, internal);
      const held = this.waiting.get(address);
      this.waiting.delete(address);
      const first = withAddress(internal, data, bodyStart);
      if (held) {
        // Auth first, then what arrived before it, in order.
        this.connection?.handleMessage(first);
        for (const message of held) {
          const rewritten = this.inbound(message);
          if (rewritten) this.connection?.handleMessage(rewritten);
        }
        return null;
      }
      return first;
    }
    if (type === MessageType.Awareness) {
      // Awareness never enters Hocuspocus' message path: see awareness-gate.ts. It still counts
      // as traffic for Hocuspocus' idle timeout (providers renew awareness every 15 s).
      if (this.connection) this.connection.lastMessageReceivedAt = Date.now();
      this.awareness.receive(internal, readPayload(decoder));
      return null;
    }
    if (type !== MessageType.Auth) this.awareness.countDocumentMessage(internal);
    return withAddress(internal, data, bodyStart);
  }

  private hold(address: string, data: Uint8Array): void {
    const queue = this.waiting.get(address) ?? [];
    if (queue.length === 0 && this.waiting.size >= MAX_ADDRESSES) throw new Error("too many documents on one connection");
    if (queue.length >= MAX_QUEUED_BEFORE_AUTH) throw new Error("too many messages before authentication");
    queue.push(data);
    this.waiting.set(address, queue);
  }

  private internalAddress(address: string, token: string): string {
    const sep = address.indexOf("\u0000");
    const roomId = sep === -1 ? address : address.slice(0, sep);
    const session = sep === -1 ? "" : address.slice(sep);
    return routeDocumentName(roomId, token) + session;
  }

  /** Rewrite an internal address back to the client's; most messages already carry the client's. */
  private outbound(data: Uint8Array): Uint8Array {
    let pos = 0;
    let length = 0;
    let shift = 0;
    for (;;) {
      const byte = data[pos++];
      if (byte === undefined) return data;
      length |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7;
      if (shift > 28) return data;
    }
    if (data[pos] !== MARK) return data;
    const decoder = decoding.createDecoder(data);
    const address = decoding.readVarString(decoder);
    return withAddress(clientAddressOf(address), data, pos + length);
  }
}

/**
 * The internal document name a room id and token route to. The organisation is read from the token
 * without verifying it (onAuthenticate verifies it and checks it matches); an invalid room id still
 * gets a name, one no token can grant, so the refusal is uniform. Used by both socket edges.
 */
export function routeDocumentName(roomId: string, token: string): string {
  return isValidRoomId(roomId) ? toDocumentName(peekTokenOrg(token) ?? "_", roomId) : toDocumentName("_", "_invalid");
}

/** Whether `data` is an awareness message addressed to `address`. */
function isAwarenessFor(data: Uint8Array, address: string): boolean {
  try {
    const decoder = decoding.createDecoder(data);
    return decoding.readVarString(decoder) === address && decoding.readVarUint(decoder) === MessageType.Awareness;
  } catch {
    return false;
  }
}

function withAddress(address: string, data: Uint8Array, bodyStart: number): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, address);
  encoding.writeUint8Array(encoder, data.subarray(bodyStart));
  return encoding.toUint8Array(encoder);
}


