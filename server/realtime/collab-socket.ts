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
import type * as Y from "yjs";

type ClientConnection = ReturnType<Hocuspocus["handleConnection"]>;
import { MessageType, readPayload, validateClientMessage } from "../../protocol/messages.ts";
import { toUint8Array } from "./raw-data.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import { peekTokenOrg, type ReadLevel } from "../auth/access-token.ts";
import { filterInboundMessage, filterOutboundMessage, type RestrictedLevel } from "./read-filter.ts";
import { clientAddressOf, INTERNAL_MARK, isValidRoomId, toDocumentName } from "../../protocol/document-name.ts";
import { logger } from "../logger.ts";
import { AwarenessGate, ownAwarenessEchoAddress, type AwarenessLimits } from "./awareness-gate.ts";
import { AwarenessRejected } from "./awareness.ts";
import { sendBinary } from "./broadcast-frame.ts";
import { MessageRate, type MessageRateLimits } from "./message-rate.ts";
import { createDetachedRealtimeMetrics, type RealtimeMetrics } from "../metrics.ts";

/**
 * What a socket may send for addresses whose Auth message has not arrived yet, held until it does.
 * A provider sends little there (edits made while its token is fetched); Hocuspocus caps its own
 * queue, for authenticating documents, at 5 MB and 1,000 messages per connection.
 */
export const MAX_HELD_PER_ADDRESS = 200;
export const MAX_HELD_MESSAGES = 1000;
export const MAX_HELD_BYTES = 4 * 1024 * 1024;

const MAX_ADDRESSES = 100;
const MARK = INTERNAL_MARK.charCodeAt(0);

/** What hooks may do with the socket a connection came in on (/collab or /yjs). */
export interface RealtimeSocket {
  readonly awareness: AwarenessGate;
  refuse(internalName: string, code: number, reason: string): void;
  close(code?: number, reason?: string): void;
  /**
   * What a connection may read of its document, from its verified token (extensions/authenticate.ts):
   * named by the token its Auth message carried when it authenticates, by its address on a refresh.
   */
  setReadLevel(connection: ReadLevelTarget, level: ReadLevel): void;
}

export type ReadLevelTarget = { documentName: string; token: string } | { address: string };

/**
 * An address whose Auth message has arrived but whose level authenticate has not set yet: sent
 * nothing of the document (nothing is sent before authentication anyway: fail closed), and its
 * inbound messages are left to the comment guard as they are.
 */
const PENDING = "pending";

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
  private heldMessages = 0;
  private heldBytes = 0;
  /**
   * Per client address without full read access (read-filter.ts): its level, or PENDING between
   * its Auth message and authentication. Full readers have no entry, so a socket of full readers
   * pays one size check per outbound message.
   */
  private readonly restricted = new Map<string, RestrictedLevel | typeof PENDING>();
  /** Per client address: the token of its latest Auth message, until authenticate names its level. */
  private readonly authTokens = new Map<string, string>();
  private documents: Hocuspocus["documents"] | null = null;
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
    socket.documents = hocuspocus.documents;
    const context: SocketContext = { socket, remoteAddress };
    socket.connection = hocuspocus.handleConnection(socket, request, context);
    ws.on("message", (data, isBinary) => socket.receive(data, isBinary));
    ws.on("close", (code, reason) => {
      socket.closed = true;
      socket.rate.stop();
      socket.dropHeld();
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
      sendBinary(this.ws, this.outbound(this.restricted.size === 0 ? data : this.restrictOutbound(data)));
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
        this.restricted.delete(client);
        this.authTokens.delete(client);
        this.awareness.forget(internal);
      }
    }
    setImmediate(() => {
      if (this.addresses.size === 0) this.close(code, reason);
    });
  }

  setReadLevel(connection: ReadLevelTarget, level: ReadLevel): void {
    const set = (address: string) => {
      this.authTokens.delete(address);
      if (level === "full") this.restricted.delete(address);
      else this.restricted.set(address, level);
    };
    if ("address" in connection) {
      if (this.addresses.has(connection.address)) set(connection.address);
      return;
    }
    for (const [address, token] of this.authTokens) {
      if (token === connection.token && this.addresses.get(address)?.split("\u0000")[0] === connection.documentName) set(address);
    }
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
      // AwarenessRejected carries its own code (4413 oversized state), so does HeldTooLarge (4413);
      // anything else is 4400.
      const close = error instanceof AwarenessRejected || error instanceof HeldTooLarge ? error : CloseCodes.MalformedMessage;
      logger.info("Closing a connection for a message it may not send", { error: (error as Error).message, code: close.code });
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
      this.restricted.set(address, PENDING);
      this.authTokens.set(address, token);
      const held = this.waiting.get(address);
      const first = withAddress(internal, data, bodyStart);
      if (!held) return first;
      this.waiting.delete(address);
      this.heldMessages -= held.length;
      for (const message of held) this.heldBytes -= message.byteLength;
      // Auth first, then what arrived before it, in order, through the rate limit like any other
      // message: holding must not be a way around it.
      this.rate.submit(first);
      for (const message of held) {
        const rewritten = this.inbound(message);
        if (rewritten) this.rate.submit(rewritten);
      }
      return null;
    }
    if (type === MessageType.Awareness) {
      // Awareness never enters Hocuspocus' message path: see awareness-gate.ts. It still counts
      // as traffic for Hocuspocus' idle timeout (providers renew awareness every 15 s).
      if (this.connection) this.connection.lastMessageReceivedAt = Date.now();
      this.awareness.receive(internal, readPayload(decoder));
      return null;
    }
    if (type === MessageType.Auth) {
      // A new authentication on this address (after its connection closed) or a token refresh.
      decoding.readVarUint(decoder);
      this.authTokens.set(address, decoding.readVarString(decoder));
      return withAddress(internal, data, bodyStart);
    }
    this.awareness.countDocumentMessage(internal);
    const message = withAddress(internal, data, bodyStart);
    const level = this.restricted.size === 0 ? undefined : this.restricted.get(address);
    if (level === undefined || level === PENDING || (type !== MessageType.Sync && type !== MessageType.SyncReply)) return message;
    return filterInboundMessage(message, this.documentOf(internal));
  }

  /** A restricted address's sync messages as read-filter.ts allows them; everything else as it is. */
  private restrictOutbound(data: Uint8Array): Uint8Array {
    const decoder = decoding.createDecoder(data);
    const address = decoding.readVarString(decoder);
    const level = this.restricted.get(address);
    if (level === undefined) return data;
    const internal = this.addresses.get(address);
    return filterOutboundMessage(data, level === PENDING ? "presence" : level, internal === undefined ? undefined : this.documentOf(internal));
  }

  /** The loaded document an internal address (name, or name\0session) belongs to. */
  private documentOf(internal: string): Y.Doc | undefined {
    const sep = internal.indexOf("\u0000");
    return this.documents?.get(sep === -1 ? internal : internal.slice(0, sep));
  }

  /**
   * Keep a message until its address authenticates. Bounded per socket in bytes, not only in
   * messages: 200 × 100 addresses of 1 MiB frames would otherwise be 20 GiB. Over a bound → 4413.
   */
  private hold(address: string, data: Uint8Array): void {
    const queue = this.waiting.get(address) ?? [];
    if (queue.length === 0 && this.waiting.size >= MAX_ADDRESSES) throw new Error("too many documents on one connection");
    if (queue.length >= MAX_HELD_PER_ADDRESS || this.heldMessages >= MAX_HELD_MESSAGES || this.heldBytes + data.byteLength > MAX_HELD_BYTES) {
      throw new HeldTooLarge();
    }
    // A copy: `data` may be a view into a larger buffer ws read, which holding it would keep alive.
    queue.push(data.slice());
    this.waiting.set(address, queue);
    this.heldMessages += 1;
    this.heldBytes += data.byteLength;
  }

  private dropHeld(): void {
    this.waiting.clear();
    this.heldMessages = 0;
    this.heldBytes = 0;
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

/** Thrown by `hold` when a socket sent more before authenticating than it may hold. */
class HeldTooLarge extends Error {
  readonly code = CloseCodes.HeldTooLarge.code;
  readonly reason = CloseCodes.HeldTooLarge.reason;
  constructor() {
    super("too much sent before authentication");
  }
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


