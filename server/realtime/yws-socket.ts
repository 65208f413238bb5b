/**
 * The y-websocket endpoint: `ws://HOST/yjs/<room id>?token=<access token>`, for the stock
 * `y-websocket` WebsocketProvider (and anything else speaking that protocol), joined to the same
 * Hocuspocus documents as `/collab`, with the same hooks: authentication, permissions, read-only,
 * persistence, awareness gate, rate limits.
 *
 * y-websocket messages carry no address, one document per socket:
 *   0 sync (y-protocols/sync: step 1, step 2, update) · 1 awareness · 2 auth (y-protocols/auth:
 *   0 = permission denied + reason) · 3 query awareness.
 * Hocuspocus messages are varString(address) · the same type numbers, plus 4 SyncReply, 5
 * Stateless, 7 Close, 8 SyncStatus, and an Auth handshake the client must open with.
 *
 * Inbound: the Auth(token) message is synthesised from the query string when the socket opens;
 * every later message is prefixed with the internal document name. Outbound: the address is
 * stripped; SyncReply becomes Sync; Stateless, SyncStatus, the Authenticated reply and token
 * requests are dropped; a permission-denied reply becomes y-protocols' auth message and the
 * socket closes with 4401/4403/4404 (see extensions/authenticate.ts); Close closes the socket (with the
 * refusal's code and reason when a hook refused the document, e.g. the comment guard's 4403, and with
 * 4401/4404 when the document was closed for a revoked token or a deleted room).
 */
import type { WebSocket, RawData } from "ws";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import type { Hocuspocus } from "@hocuspocus/server";
import { MessageType, readPayload, validateClientMessage } from "../../protocol/messages.ts";
import { toUint8Array } from "./raw-data.ts";
import { CloseCodes, closeCodeForReason } from "../../protocol/close-codes.ts";
import { DEFAULT_EDGE_OPTIONS, routeDocumentName, type EdgeOptions, type ReadLevelTarget, type RealtimeSocket, type SocketContext } from "./collab-socket.ts";
import { filterInboundMessage, filterOutboundMessage } from "./read-filter.ts";
import type { ReadLevel } from "../auth/access-token.ts";
import { AwarenessGate, ownAwarenessEchoAddress } from "./awareness-gate.ts";
import { AwarenessRejected } from "./awareness.ts";
import { MessageRate } from "./message-rate.ts";
import { sendBinary } from "./broadcast-frame.ts";
import type { RealtimeMetrics } from "../metrics.ts";
import { logger } from "../logger.ts";

type ClientConnection = ReturnType<Hocuspocus["handleConnection"]>;

/** y-protocols/auth */
const YAuth = { PermissionDenied: 0 } as const;
/** @hocuspocus/common AuthMessageType */
const HocuspocusAuth = { Token: 0, PermissionDenied: 1, Authenticated: 2 } as const;

export const YWS_PATH_PREFIX = "/yjs/";

export class YwsSocket implements RealtimeSocket {
  private readonly ws: WebSocket;
  private readonly internal: string;
  private readonly prefix: Uint8Array;
  private connection: ClientConnection | null = null;
  private documents: Hocuspocus["documents"] | null = null;
  /** What the client may read (read-filter.ts); "pending" until authenticated: nothing, fail closed. */
  private level: ReadLevel | "pending" = "pending";
  private closed = false;
  /** Set by refuse: the close that follows Hocuspocus' Close message for the document. */
  private refusal: { code: number; reason: string } | null = null;
  readonly awareness: AwarenessGate;
  private readonly rate: MessageRate;
  private readonly metrics: RealtimeMetrics;

  constructor(ws: WebSocket, internal: string, options: EdgeOptions = DEFAULT_EDGE_OPTIONS) {
    this.ws = ws;
    this.internal = internal;
    const e = encoding.createEncoder();
    encoding.writeVarString(e, internal);
    this.prefix = encoding.toUint8Array(e);
    this.metrics = options.metrics;
    this.awareness = new AwarenessGate(options.awareness, options.metrics);
    this.rate = new MessageRate({
      limits: options.documentMessages,
      metrics: options.metrics,
      socket: ws,
      deliver: (message) => this.connection?.handleMessage(message),
      // Not 4429: y-websocket treats every 44xx close as final and would never come back to resend.
      // 1013 (try again later) makes it reconnect with backoff and resync what the server lacks.
      overflow: () => this.close(CloseCodes.TryAgainLater.code, CloseCodes.TryAgainLater.reason),
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  /** Wire an upgraded `/yjs/<room>?token=` socket to Hocuspocus. */
  static accept(ws: WebSocket, request: Request, hocuspocus: Hocuspocus, remoteAddress: string, options?: EdgeOptions): YwsSocket {
    const url = new URL(request.url);
    const token = url.searchParams.get("token") ?? "";
    let roomId = "";
    try {
      roomId = decodeURIComponent(url.pathname.slice(YWS_PATH_PREFIX.length));
    } catch {
      roomId = "";
    }
    const internal = routeDocumentName(roomId, token);
    const socket = new YwsSocket(ws, internal, options);
    socket.documents = hocuspocus.documents;
    const context: SocketContext = { socket, remoteAddress };
    socket.connection = hocuspocus.handleConnection(socket, request, context);
    ws.on("message", (data, isBinary) => socket.receive(data, isBinary));
    ws.on("close", (code, reason) => {
      socket.closed = true;
      socket.rate.stop();
      socket.awareness.forget();
      socket.connection?.handleClose({ code, reason: reason.toString() });
    });
    ws.on("error", (error) => logger.warn("WebSocket error", { error: error.message, remoteAddress }));
    // The handshake a Hocuspocus provider would send first.
    const auth = encoding.createEncoder();
    encoding.writeUint8Array(auth, socket.prefix);
    encoding.writeVarUint(auth, MessageType.Auth);
    encoding.writeVarUint(auth, HocuspocusAuth.Token);
    encoding.writeVarString(auth, token);
    socket.connection.handleMessage(encoding.toUint8Array(auth));
    return socket;
  }

  /** Called by Hocuspocus with messages for this socket; translated to y-websocket's protocol. */
  send(sent: Uint8Array | ArrayBufferLike | string | Blob | ArrayBufferView): void {
    if (this.ws.readyState !== 1 || !(sent instanceof Uint8Array)) return;
    let data: Uint8Array = sent;
    const decoder = decoding.createDecoder(data);
    const addressLength = decoding.readVarUint(decoder);
    decoder.pos += addressLength;
    const bodyStart = decoder.pos;
    const type = decoding.readVarUint(decoder);
    if (this.level !== "full" && (type === MessageType.Sync || type === MessageType.SyncReply)) {
      // The address is kept as it is, so bodyStart still holds.
      data = filterOutboundMessage(data, this.level === "pending" ? "presence" : this.level, this.documents?.get(this.internal));
    }
    switch (type) {
      case MessageType.Awareness:
        if (ownAwarenessEchoAddress(this.awareness) !== null) return; // one connection per socket: its own echo
        sendBinary(this.ws, data, bodyStart);
        return;
      case MessageType.Sync:
      case MessageType.QueryAwareness:
        sendBinary(this.ws, data, bodyStart);
        return;
      case MessageType.SyncReply: {
        // Same payload, y-websocket knows it as Sync. The buffer is shared with other sockets: copy.
        const body = data.slice(bodyStart);
        body[0] = MessageType.Sync;
        this.ws.send(body);
        return;
      }
      case MessageType.Auth: {
        if (decoding.readVarUint(decoder) !== HocuspocusAuth.PermissionDenied) return;
        const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : "permission-denied";
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MessageType.Auth);
        encoding.writeVarUint(e, YAuth.PermissionDenied);
        encoding.writeVarString(e, reason);
        this.ws.send(encoding.toUint8Array(e));
        return;
      }
      case MessageType.Close: {
        // After a refusal (refuse below) the close carries its code and reason, e.g. the comment
        // guard's 4403 "comment_not_author". A final close (token_revoked, room_deleted) keeps its
        // 44xx code, which y-websocket does not retry; any other is 1000 and the provider reconnects.
        if (this.refusal) {
          this.close(this.refusal.code, this.refusal.reason);
          return;
        }
        const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : "";
        const code = closeCodeForReason(reason);
        this.close(code ?? 1000, code === undefined ? "server_closed_document" : reason);
        return;
      }
      default:
        // Stateless, SyncStatus, Ping: Hocuspocus-only.
        return;
    }
  }

  /** For the awareness fan-out (awareness-gate.ts): y-websocket takes a message's body, without the address. */
  broadcastTarget(): { ws: WebSocket; bodyOnly: boolean } {
    return { ws: this.ws, bodyOnly: true };
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
  }

  setReadLevel(connection: ReadLevelTarget, level: ReadLevel): void {
    if ("documentName" in connection && connection.documentName !== this.internal) return;
    this.level = level;
  }

  /** The document was refused: close once Hocuspocus' permission-denied message has gone out. */
  refuse(internalName: string, code: number, reason: string): void {
    if (internalName !== this.internal) return;
    this.refusal = { code, reason };
    this.awareness.forget(this.internal);
    setImmediate(() => this.close(code, reason));
  }

  private receive(raw: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) {
      this.close(CloseCodes.UnsupportedData.code, CloseCodes.UnsupportedData.reason);
      return;
    }
    const body = toUint8Array(raw);
    try {
      const decoder = decoding.createDecoder(body);
      const type = decoding.readVarUint(decoder);
      if (type === MessageType.Awareness) {
        if (this.connection) this.connection.lastMessageReceivedAt = Date.now();
        this.awareness.receive(this.internal, readPayload(decoder));
        return;
      }
      if (type !== MessageType.Sync && type !== MessageType.QueryAwareness) {
        throw new RangeError(`y-websocket message type ${type} is not accepted from clients`);
      }
      let message: Uint8Array = new Uint8Array(this.prefix.length + body.length);
      message.set(this.prefix, 0);
      message.set(body, this.prefix.length);
      validateClientMessage(message);
      this.awareness.countDocumentMessage(this.internal);
      if (type === MessageType.Sync && this.level !== "full" && this.level !== "pending") {
        message = filterInboundMessage(message, this.documents?.get(this.internal));
      }
      this.rate.submit(message);
    } catch (error) {
      const close = error instanceof AwarenessRejected ? error : CloseCodes.MalformedMessage;
      logger.info("Closing a connection that sent a malformed message", { error: (error as Error).message, code: close.code, endpoint: "yjs" });
      this.metrics.connectionsClosed.inc({ code: String(close.code) });
      this.close(close.code, close.reason);
    }
  }
}


