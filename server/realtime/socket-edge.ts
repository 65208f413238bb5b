/**
 * What the two realtime endpoints share between a `ws` WebSocket and Hocuspocus' ClientConnection
 * (`/collab`, collab-socket.ts, and `/yjs`, yws-socket.ts): accepting a socket (its ws listeners),
 * closing and refusing, turning a message it may not send into a close code (a text frame 1003, a
 * malformed message 4400, what carries its own code: 4413), the document message rate limit
 * (message-rate.ts), what each address may read (read-filter.ts), the metrics, and the timeouts.
 * Everything goes to the client through `ws.send`, and only once the update log is durable for
 * what it may carry (durable-outbound.ts).
 *
 * Timeouts are the edge's, not Hocuspocus': Hocuspocus counts only messages that reach it, and
 * awareness does not (presence is ours: presence/presence-hub.ts). A socket is closed with 4408 `connection_timeout` when no
 * document on it has authenticated within `timeoutMs` of opening (traffic does not move that
 * deadline: a stream of frames that never authenticate must not keep a socket open), and, once one
 * has, when nothing at all has arrived for `timeoutMs` (providers renew their awareness every 15 s).
 */
import type { WebSocket, RawData } from "ws";
import * as decoding from "lib0/decoding";
import type { Hocuspocus } from "@hocuspocus/server";
import type * as Y from "yjs";
import { MessageType } from "../../protocol/messages.ts";
import { CloseCodes, type CloseCode } from "../../protocol/close-codes.ts";
import { isValidRoomId, toDocumentName } from "../../protocol/document-name.ts";
import { peekTokenOrg } from "../auth/access-token.ts";
import { type ReadLevel } from "../../protocol/permissions.ts";
import { toUint8Array } from "./raw-data.ts";
import { filterInboundMessage, OutboundReadFilter, type RestrictedLevel } from "./read-filter.ts";
import { ClientAddressRewriter } from "./address-rewrite.ts";
import { TimeoutSweep } from "./timeout-sweep.ts";
import { deleteEntry, EMPTY_MAP, setEntry } from "./empty-maps.ts";
import { MessageRate, type MessageRateLimits } from "./message-rate.ts";
import { AwarenessRejected } from "./awareness.ts";
import { PresenceHub } from "./presence/presence-hub.ts";
import type { SocketPresence } from "./presence/socket-presence.ts";
import { createDetachedRealtimeMetrics, type RealtimeMetrics } from "../metrics.ts";
import { ALWAYS_DURABLE, DurableOutbound, type HoldingSocket } from "./durable-outbound.ts";
import { logger } from "../logger.ts";
import { NO_LIVE_LOG, type LiveLogRecorder } from "../domain/live-log/live-log.ts";

type ClientConnection = ReturnType<Hocuspocus["handleConnection"]>;

/** @hocuspocus/common AuthMessageType: the sub-type of an Auth message. */
export const AuthMessageType = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const;

/** What hooks may do with the socket a connection came in on (/collab or /yjs). */
export interface RealtimeSocket {
  readonly awareness: SocketPresence;
  /**
   * Refuse one document (and close the socket when it carries nothing else). `subject`: who was
   * refused, when the server knows it for sure (a verified token); the refusal goes to that
   * organisation's live log. Without it, the identity given to `identify` for the document, if any.
   */
  refuse(internalName: string, code: number, reason: string, subject?: LogSubject): void;
  close(code?: number, reason?: string): void;
  /**
   * Who authenticated a document on this socket, for the live log (extensions/authenticate.ts);
   * null when its connection ends, so the socket's later refusals are not logged for a room it left.
   */
  identify(documentName: string, subject: LogSubject | null): void;
  /** The code the socket closed with, once it has (the disconnect entries of the live log). */
  readonly closeCode: number | null;
  /**
   * What a connection may read of its document, from its verified token (extensions/authenticate.ts):
   * named by the token its Auth message carried when it authenticates, by its message address (the
   * internal name, Connection.messageAddress) on a refresh.
   */
  setReadLevel(connection: ReadLevelTarget, level: ReadLevel): void;
}

/** Who is on a document of a socket, as the live log names them (ids only). */
export interface LogSubject {
  orgId: string;
  roomId: string;
  userId: string | null;
}

export type ReadLevelTarget = { documentName: string; token: string } | { address: string };

/** Present in the Hocuspocus context of every connection, so hooks can act on the socket. */
export interface SocketContext {
  socket: RealtimeSocket;
  remoteAddress: string;
}

/**
 * What every socket of one server shares: the outbound caches, keyed by the identity of the message
 * Hocuspocus broadcasts to all of a room's connections, so a broadcast is rewritten and filtered
 * once, not once per socket. Created by the composition root (server/app.ts).
 */
export interface SharedOutbound {
  addresses: ClientAddressRewriter;
  readFilter: OutboundReadFilter;
}

export function createSharedOutbound(): SharedOutbound {
  return { addresses: new ClientAddressRewriter(), readFilter: new OutboundReadFilter() };
}

/** Limits every realtime edge applies per socket (config.realtime), where it counts them, and what its sockets share. */
export interface EdgeOptions {
  /** Presence (awareness) is the realtime edge's own: server/realtime/presence/. */
  presence: PresenceHub;
  documentMessages: MessageRateLimits;
  metrics: RealtimeMetrics;
  /** Authentication deadline and idle timeout (CONNECTION_TIMEOUT_MS), on one timer for all sockets. */
  timeouts: TimeoutSweep;
  outbound: SharedOutbound;
  /** Holds outbound messages until the update log is durable for them (durable-outbound.ts). */
  durability: DurableOutbound;
  /** Refusals and throttling of authenticated documents (server/domain/live-log). */
  liveLog: LiveLogRecorder;
}

/** Options with the production defaults, each call with its own metrics and caches (tests, benchmarks). */
export function createEdgeOptions(overrides: Partial<EdgeOptions> = {}): EdgeOptions {
  const metrics = overrides.metrics ?? createDetachedRealtimeMetrics();
  return {
    presence: new PresenceHub({ limits: { maxStateBytes: 8192, updatesPerSecond: 60 }, metrics }),
    documentMessages: { perSecond: 200, burst: 400 },
    metrics,
    timeouts: new TimeoutSweep(30_000),
    outbound: createSharedOutbound(),
    durability: new DurableOutbound(ALWAYS_DURABLE),
    liveLog: NO_LIVE_LOG,
    ...overrides,
  };
}

/**
 * The internal document name a room id and token route to. The organisation is read from the token
 * without verifying it (onAuthenticate verifies it and checks it matches); an invalid room id still
 * gets a name, one no token can grant, so the refusal is uniform. Used by both socket edges.
 */
export function routeDocumentName(roomId: string, token: string): string {
  return isValidRoomId(roomId) ? toDocumentName(peekTokenOrg(token) ?? "_", roomId) : toDocumentName("_", "_invalid");
}

/** A message a socket may not send, closing it with its own code rather than 4400. */
export class EdgeRejection extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(close: CloseCode, message: string) {
    super(message);
    this.code = close.code;
    this.reason = close.reason;
  }
}

/**
 * The Request Hocuspocus is handed with each socket: one per endpoint, shared by all of its sockets.
 * Hocuspocus keeps a socket's Request for the socket's life and gives it to every hook (headers,
 * query parameters); a Request made of each handshake cost ≈ 2 KiB per idle connection — more with a
 * browser's cookies — and on /yjs kept the access token of its query string. Nothing of ours reads
 * them: who the client is comes from its token, where it connects from is `remoteAddress` in the
 * context (SocketContext); a hook that needs more from the handshake should get it there too.
 */
const ENDPOINT_REQUESTS: Record<string, Request> = {
  collab: new Request("http://localhost/collab"),
  yjs: new Request("http://localhost/yjs"),
};

/**
 * An address whose Auth message has arrived but whose level authenticate has not set yet: sent
 * nothing of the document (nothing is sent before authentication anyway: fail closed), and its
 * inbound messages are left to the comment guard as they are.
 */
const PENDING = "pending";

/** Messages a socket holds until the log is durable for them, in order, with the number each waits for. */
interface Held {
  messages: Array<Uint8Array | string>;
  waitFor: number[];
  bytes: number;
  /** When the socket last made progress (performance.now()): started holding, or sent some. */
  since: number;
}

export abstract class SocketEdge implements RealtimeSocket, HoldingSocket {
  protected readonly ws: WebSocket;
  protected connection: ClientConnection | null = null;
  protected closed = false;
  protected readonly rate: MessageRate;
  protected readonly metrics: RealtimeMetrics;
  protected readonly outbound: SharedOutbound;
  /**
   * This socket's presence (presence/socket-presence.ts), reached through SocketContext by
   * extensions/awareness.ts. Its calls: built in the constructor and forgotten on close here;
   * `receive`, `query`, `countDocumentMessage` and `forget(internal)` in each edge's inbound / refuse.
   */
  readonly awareness: SocketPresence;
  /** Client address (room, or room\0session) → internal address, for every address whose Auth message arrived. */
  protected readonly addresses = new Map<string, string>();
  /**
   * Per client address without full read access (read-filter.ts): its level, or PENDING between
   * its Auth message and authentication. Full readers have no entry, so a socket of full readers
   * pays one size check per outbound message.
   */
  protected restricted: ReadonlyMap<string, RestrictedLevel | typeof PENDING> = EMPTY_MAP;
  /** Per client address: the token of its latest Auth message, until authenticate names its level. */
  private authTokens: ReadonlyMap<string, string> = EMPTY_MAP;
  private documents: Hocuspocus["documents"] | null = null;
  private readonly endpoint: string;
  private readonly timeouts: TimeoutSweep;
  private readonly openedAt = performance.now();
  private lastReceivedAt = this.openedAt;
  /** Whether a document on this socket has authenticated; sticky, as in Hocuspocus. */
  protected authenticated = false;
  private readonly durability: DurableOutbound;
  private held: Held | null = null;
  /** A close asked for while messages were held: done once they are sent. */
  private closeAfterHeld: { code?: number; reason?: string } | null = null;
  private readonly liveLog: LiveLogRecorder;
  /** Per authenticated document name: who is on it (identify); dropped when it is refused. */
  private subjects: ReadonlyMap<string, LogSubject> = EMPTY_MAP;
  closeCode: number | null = null;

  protected constructor(ws: WebSocket, options: EdgeOptions, edge: { endpoint: string; overflow: CloseCode; bodyOnly: boolean }) {
    this.ws = ws;
    this.endpoint = edge.endpoint;
    this.metrics = options.metrics;
    this.outbound = options.outbound;
    this.timeouts = options.timeouts;
    this.durability = options.durability;
    this.liveLog = options.liveLog;
    // Presence messages go out as they are: /collab's already addressed to the client's room id,
    // /yjs' without the address (bodyOnly). They carry nothing of the document, so they wait only
    // behind held document messages.
    this.awareness = options.presence.socket({
      bodyOnly: edge.bodyOnly,
      send: (bytes) => {
        if (ws.readyState === 1) this.enqueue(bytes, 0);
      },
    });
    this.rate = new MessageRate({
      limits: options.documentMessages,
      metrics: options.metrics,
      socket: ws,
      deliver: (message) => {
        // Delivered from the queue while reading is paused still counts as traffic.
        this.lastReceivedAt = performance.now();
        this.connection?.handleMessage(message);
      },
      overflow: () => {
        this.refuseAll(edge.overflow.code, edge.overflow.reason);
        this.close(edge.overflow.code, edge.overflow.reason);
      },
      throttled: (message) => this.noteThrottled(message),
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  /** Called by Hocuspocus with every message for this socket. */
  abstract send(data: Uint8Array | ArrayBufferLike | string | Blob | ArrayBufferView): void;

  refuse(internalName: string, code: number, reason: string, subject?: LogSubject): void {
    const who = subject ?? this.subjects.get(internalName);
    this.subjects = deleteEntry(this.subjects, internalName);
    if (who) this.liveLog.record({ ...who, kind: "refused", code, detail: reason });
    this.refuseDocument(internalName, code, reason);
  }

  identify(documentName: string, subject: LogSubject | null): void {
    this.subjects = subject === null ? deleteEntry(this.subjects, documentName) : setEntry(this.subjects, documentName, subject);
  }

  /** Refuse one document on this socket (the edge's part of `refuse`). */
  protected abstract refuseDocument(internalName: string, code: number, reason: string): void;

  /** Read one binary message: returns what to hand Hocuspocus through the rate limit, or null; throws to close the socket. */
  protected abstract inbound(data: Uint8Array): Uint8Array | null;

  /** Wire the socket to Hocuspocus; called once per accepted upgrade. */
  protected start(hocuspocus: Hocuspocus, remoteAddress: string): ClientConnection {
    this.documents = hocuspocus.documents;
    const context: SocketContext = { socket: this, remoteAddress };
    const connection = hocuspocus.handleConnection(this, ENDPOINT_REQUESTS[this.endpoint]!, context);
    this.connection = connection;
    this.ws.on("message", (data, isBinary) => this.receive(data, isBinary));
    this.ws.on("close", (code, reason) => {
      this.closeCode = code;
      this.closed = true;
      this.held = null;
      this.stopTimer();
      this.rate.stop();
      this.released();
      this.awareness.forget();
      connection.handleClose({ code, reason: reason.toString() });
    });
    this.ws.on("error", (error: Error & { code?: string }) => {
      logger.warn("WebSocket error", { error: error.message, remoteAddress, endpoint: this.endpoint });
      // ws closes a frame over maxPayload with 1009 itself (its documented error code).
      if (error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.refuseAll(CloseCodes.MessageTooBig.code, CloseCodes.MessageTooBig.reason);
    });
    this.timeouts.add(this);
    return connection;
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    // What was sent before the close (a refusal's permission-denied message) goes out first.
    if (this.held !== null && this.ws.readyState === 1) this.closeAfterHeld = { code, reason };
    else this.ws.close(code, reason);
  }

  /**
   * Send a message Hocuspocus gave this socket once the update log is durable for every update
   * appended so far (durable-outbound.ts): it may carry any of them.
   */
  protected transmit(message: Uint8Array | string): void {
    this.enqueue(message, this.durability.appended);
  }

  /** Send the held messages the log is now durable for; true when nothing is held any more. */
  release(durable: number): boolean {
    const held = this.held;
    if (held === null) return true;
    if (this.ws.readyState !== 1) {
      this.held = null;
      return true;
    }
    let sent = 0;
    while (sent < held.waitFor.length && held.waitFor[sent]! <= durable) {
      this.ws.send(held.messages[sent]!);
      sent += 1;
    }
    if (sent === held.waitFor.length) {
      this.held = null;
      if (this.closeAfterHeld) this.ws.close(this.closeAfterHeld.code, this.closeAfterHeld.reason);
      return true;
    }
    if (sent > 0) {
      for (const message of held.messages.splice(0, sent)) held.bytes -= byteLength(message);
      held.waitFor.splice(0, sent);
      held.since = performance.now();
    }
    return false;
  }

  heldSince(): number | null {
    return this.held?.since ?? null;
  }

  /** The log has not committed for too long: drop what is held and let the client reconnect later. */
  abandon(): void {
    if (this.held === null) return;
    this.held = null;
    this.closeAfterHeld = null;
    logger.warn("Closing a connection whose messages waited too long for the update log to commit", {
      endpoint: this.endpoint,
      holdTimeoutMs: this.durability.holdTimeoutMs,
    });
    this.metrics.connectionsClosed.inc({ code: String(CloseCodes.UpdateNotSaved.code) });
    this.refuseAll(CloseCodes.UpdateNotSaved.code, CloseCodes.UpdateNotSaved.reason);
    this.closed = true;
    this.stopTimer();
    this.ws.close(CloseCodes.UpdateNotSaved.code, CloseCodes.UpdateNotSaved.reason);
  }

  /** Send now when nothing is held and the log is durable up to `waitFor`; otherwise hold, in order. */
  private enqueue(message: Uint8Array | string, waitFor: number): void {
    const held = this.held;
    if (held === null) {
      if (waitFor <= this.durability.durable) {
        this.ws.send(message);
        return;
      }
      this.held = { messages: [message], waitFor: [waitFor], bytes: byteLength(message), since: performance.now() };
      this.durability.hold(this);
      return;
    }
    held.messages.push(message);
    held.waitFor.push(waitFor);
    held.bytes += byteLength(message);
    if (held.bytes > this.durability.maxHeldBytes) this.abandon();
  }

  setReadLevel(connection: ReadLevelTarget, level: ReadLevel): void {
    const set = (address: string) => {
      this.authTokens = deleteEntry(this.authTokens, address);
      this.restricted = level === "full" ? deleteEntry(this.restricted, address) : setEntry(this.restricted, address, level);
    };
    if ("address" in connection) {
      for (const [address, internal] of this.addresses) if (internal === connection.address) set(address);
      return;
    }
    for (const [address, token] of this.authTokens) {
      if (token === connection.token && documentNameOf(this.addresses.get(address) ?? "") === connection.documentName) set(address);
    }
  }

  /** What the socket still holds when it closes; released here. */
  protected released(): void {}

  /** An address's Auth message arrived: it reads nothing of its document until authenticate names its level. */
  protected openAddress(address: string, internal: string, token: string): void {
    this.addresses.set(address, internal);
    this.restricted = setEntry(this.restricted, address, PENDING);
    this.authTokens = setEntry(this.authTokens, address, token);
  }

  /** A new Auth message on an open address: a token refresh, or a new authentication after its connection closed. */
  protected renewToken(address: string, token: string): void {
    this.authTokens = setEntry(this.authTokens, address, token);
  }

  protected dropAddress(address: string): void {
    this.addresses.delete(address);
    this.restricted = deleteEntry(this.restricted, address);
    this.authTokens = deleteEntry(this.authTokens, address);
  }

  /** An outbound sync message of `address` as its read level allows (read-filter.ts); everything else as it is. */
  protected restrictOutbound(message: Uint8Array, address: string): Uint8Array {
    const level = this.restricted.get(address);
    if (level === undefined) return message;
    const internal = this.addresses.get(address);
    const doc = internal === undefined ? undefined : this.documentOf(internal);
    return this.outbound.readFilter.filter(message, level === PENDING ? "presence" : level, doc);
  }

  /** An inbound sync message of a restricted `address` without the deletions it may not see (read-filter.ts). */
  protected restrictInbound(message: Uint8Array, address: string, internal: string): Uint8Array {
    const level = this.restricted.get(address);
    if (level === undefined || level === PENDING) return message;
    return filterInboundMessage(message, this.documentOf(internal));
  }

  /** Note an outbound message: the first Authenticated reply starts the idle timeout. */
  protected noteOutbound(message: Uint8Array): void {
    if (!this.authenticated && isAuthenticatedReply(message)) this.authenticated = true;
  }

  private receive(raw: RawData, isBinary: boolean): void {
    if (this.closed) return;
    this.lastReceivedAt = performance.now();
    if (!isBinary) {
      this.close(CloseCodes.UnsupportedData.code, CloseCodes.UnsupportedData.reason);
      return;
    }
    let message: Uint8Array | null;
    try {
      message = this.inbound(toUint8Array(raw));
    } catch (error) {
      // Errors that carry their own code (4413: an oversized awareness state, too much held before
      // authenticating) close with it; anything else is a malformed message, 4400.
      const close = error instanceof AwarenessRejected || error instanceof EdgeRejection ? error : CloseCodes.MalformedMessage;
      logger.info("Closing a connection for a message it may not send", { error: (error as Error).message, code: close.code, endpoint: this.endpoint });
      this.metrics.connectionsClosed.inc({ code: String(close.code) });
      this.refuseAll(close.code, close.reason);
      this.close(close.code, close.reason);
      return;
    }
    if (message) this.rate.submit(message);
  }

  /** The loaded document an internal address (name, or name\0session) belongs to. */
  private documentOf(internal: string): Y.Doc | undefined {
    return this.documents?.get(documentNameOf(internal));
  }

  /** Called by the server's TimeoutSweep (timeout-sweep.ts): messages just note their time. */
  checkTimeout(now: number): void {
    if (this.closed) return;
    const since = this.authenticated ? this.lastReceivedAt : this.openedAt;
    if (now - since < this.timeouts.timeoutMs) return;
    logger.info(this.authenticated ? "Closing an idle connection" : "Closing a connection that did not authenticate in time", { endpoint: this.endpoint, timeoutMs: this.timeouts.timeoutMs });
    this.metrics.connectionsClosed.inc({ code: String(CloseCodes.ConnectionTimeout.code) });
    this.refuseAll(CloseCodes.ConnectionTimeout.code, CloseCodes.ConnectionTimeout.reason);
    this.close(CloseCodes.ConnectionTimeout.code, CloseCodes.ConnectionTimeout.reason);
  }

  /**
   * The whole socket is closed for something it did (a malformed or oversized message, the rate
   * limit, idling): a refusal in the live log of each document it had authenticated. Before any
   * has, nobody is known for sure and nothing is logged.
   */
  private refuseAll(code: number, reason: string): void {
    if (this.closed) return;
    for (const subject of this.subjects.values()) this.liveLog.record({ ...subject, kind: "refused", code, detail: reason });
    this.subjects = EMPTY_MAP;
  }

  /** The rate limit started queueing this socket's messages (message-rate.ts reports it at most every 10 s). */
  private noteThrottled(message: Uint8Array): void {
    let internal: string;
    try {
      internal = decoding.readVarString(decoding.createDecoder(message));
    } catch {
      return;
    }
    const subject = this.subjects.get(documentNameOf(internal));
    if (subject) this.liveLog.record({ ...subject, kind: "throttled", detail: "document_rate_limit" });
  }

  private stopTimer(): void {
    this.timeouts.delete(this);
  }
}

function byteLength(message: Uint8Array | string): number {
  return typeof message === "string" ? message.length : message.byteLength;
}

/** The document an internal address (name, or name\0session) is of. */
export function documentNameOf(internal: string): string {
  const sep = internal.indexOf("\u0000");
  return sep === -1 ? internal : internal.slice(0, sep);
}

/** Whether `message` is Hocuspocus' Authenticated reply (address · Auth · Authenticated · …). */
function isAuthenticatedReply(message: Uint8Array): boolean {
  try {
    const decoder = decoding.createDecoder(message);
    const addressLength = decoding.readVarUint(decoder);
    decoder.pos += addressLength;
    return decoding.readVarUint(decoder) === MessageType.Auth && decoding.readVarUint(decoder) === AuthMessageType.Authenticated;
  } catch {
    return false;
  }
}
