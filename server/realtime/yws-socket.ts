/**
 * The y-websocket endpoint: `ws://HOST/yjs/<room id>?token=<access token>`, for the stock
 * `y-websocket` WebsocketProvider (and anything else speaking that protocol), joined to the same
 * Hocuspocus documents as `/collab`, with the same hooks: authentication, permissions, read-only,
 * persistence, presence, rate limits.
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
 * 4401/4404 when the document was closed for a revoked token or a deleted room). Hocuspocus
 * addresses its messages by the internal name (with a session part for session-aware providers):
 * stripped like any address. What both edges share is in socket-edge.ts.
 *
 * SyncForge's stateless messages (broadcast events, protocol/events.ts; activity; notifications)
 * travel as y-websocket message type 100, varString(JSON), both ways: a client's becomes a
 * Hocuspocus Stateless message (so the same onStateless hook handles both endpoints), and Hocuspocus'
 * Stateless messages become type 100 for a socket whose URL asked with `stateless=1` (the stock
 * provider logs an error for a type it has no handler for; the SDK's helper registers one).
 */
import type { WebSocket } from "ws";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import type { Hocuspocus } from "@hocuspocus/server";
import { MessageType, readPayload, validateClientMessage } from "../../protocol/messages.ts";
import { CloseCodes, closeCodeForReason } from "../../protocol/close-codes.ts";
import { AuthMessageType, createEdgeOptions, routeDocumentName, SocketEdge, type EdgeOptions } from "./socket-edge.ts";
import { YWS_STATELESS_MESSAGE, YWS_STATELESS_PARAM } from "../../protocol/events.ts";

/** y-protocols/auth */
const YAuth = { PermissionDenied: 0 } as const;

export const YWS_PATH_PREFIX = "/yjs/";

export class YwsSocket extends SocketEdge {
  private readonly internal: string;
  private readonly prefix: Uint8Array;
  /** Set by refuse: the close that follows Hocuspocus' Close message for the document. */
  private refusal: { code: number; reason: string } | null = null;
  /** Whether the client asked for stateless messages (type 100) with `stateless=1`. */
  private readonly wantsStateless: boolean;

  constructor(ws: WebSocket, internal: string, token: string, options: EdgeOptions = createEdgeOptions(), wantsStateless = false) {
    // Not 4429 on overflow: y-websocket treats every 44xx close as final and would never come back
    // to resend. 1013 (try again later) makes it reconnect with backoff and resync what the server lacks.
    super(ws, options, { endpoint: "yjs", overflow: CloseCodes.TryAgainLater, bodyOnly: true });
    this.internal = internal;
    this.wantsStateless = wantsStateless;
    const e = encoding.createEncoder();
    encoding.writeVarString(e, internal);
    this.prefix = encoding.toUint8Array(e);
    // One document per socket, its address the internal name itself; its Auth message is made below.
    this.openAddress(internal, internal, token);
  }

  /** Wire an upgraded `/yjs/<room>?token=` socket to Hocuspocus; `target` is the upgrade's request-target (path and query). */
  static accept(ws: WebSocket, target: string, hocuspocus: Hocuspocus, remoteAddress: string, options?: EdgeOptions): YwsSocket {
    const url = new URL(target, "http://localhost");
    const token = url.searchParams.get("token") ?? "";
    let roomId = "";
    try {
      roomId = decodeURIComponent(url.pathname.slice(YWS_PATH_PREFIX.length));
    } catch {
      roomId = "";
    }
    const socket = new YwsSocket(ws, routeDocumentName(roomId, token), token, options, url.searchParams.get(YWS_STATELESS_PARAM) === "1");
    const connection = socket.start(hocuspocus, remoteAddress);
    // The handshake a Hocuspocus provider would send first.
    const auth = encoding.createEncoder();
    encoding.writeUint8Array(auth, socket.prefix);
    encoding.writeVarUint(auth, MessageType.Auth);
    encoding.writeVarUint(auth, AuthMessageType.Token);
    encoding.writeVarString(auth, token);
    connection.handleMessage(encoding.toUint8Array(auth));
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
    if (this.restricted.size !== 0 && (type === MessageType.Sync || type === MessageType.SyncReply)) {
      // The address is kept as it is, so bodyStart still holds.
      data = this.restrictOutbound(data, this.internal);
    }
    switch (type) {
      case MessageType.Sync:
      case MessageType.Awareness:
      case MessageType.QueryAwareness:
        this.transmit(data.subarray(bodyStart));
        return;
      case MessageType.SyncReply: {
        // Same payload, y-websocket knows it as Sync. The buffer is shared with other sockets: copy.
        const body = data.slice(bodyStart);
        body[0] = MessageType.Sync;
        this.transmit(body);
        return;
      }
      case MessageType.Auth: {
        const sub = decoding.readVarUint(decoder);
        if (sub === AuthMessageType.Authenticated) this.authenticated = true;
        if (sub !== AuthMessageType.PermissionDenied) return;
        const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : "permission-denied";
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, MessageType.Auth);
        encoding.writeVarUint(e, YAuth.PermissionDenied);
        encoding.writeVarString(e, reason);
        this.transmit(encoding.toUint8Array(e));
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
      case MessageType.Stateless: {
        if (!this.wantsStateless) return;
        const e = encoding.createEncoder();
        encoding.writeVarUint(e, YWS_STATELESS_MESSAGE);
        encoding.writeVarString(e, decoding.readVarString(decoder));
        this.transmit(encoding.toUint8Array(e));
        return;
      }
      default:
        // SyncStatus, Ping: Hocuspocus-only.
        return;
    }
  }

  /** The document was refused: close once Hocuspocus' permission-denied message has gone out. */
  protected refuseDocument(internalName: string, code: number, reason: string): void {
    if (internalName !== this.internal) return;
    this.refusal = { code, reason };
    this.awareness.forget(this.internal);
    setImmediate(() => this.close(code, reason));
  }

  /** A y-websocket message (no address): prefixed with the internal name, after reading all of it. */
  protected inbound(body: Uint8Array): Uint8Array | null {
    const decoder = decoding.createDecoder(body);
    const type = decoding.readVarUint(decoder);
    if (type === MessageType.Awareness) {
      this.awareness.receive(this.internal, readPayload(decoder));
      return null;
    }
    if (type === MessageType.QueryAwareness) {
      this.awareness.query(this.internal);
      return null;
    }
    if (type === YWS_STATELESS_MESSAGE) {
      // Handled like a /collab client's Stateless message, in order with its document messages.
      const payload = readPayload(decoder);
      const e = encoding.createEncoder();
      encoding.writeUint8Array(e, this.prefix);
      encoding.writeVarUint(e, MessageType.Stateless);
      encoding.writeVarUint8Array(e, payload);
      this.awareness.countDocumentMessage(this.internal);
      return encoding.toUint8Array(e);
    }
    if (type !== MessageType.Sync) {
      throw new RangeError(`y-websocket message type ${type} is not accepted from clients`);
    }
    const message: Uint8Array = new Uint8Array(this.prefix.length + body.length);
    message.set(this.prefix, 0);
    message.set(body, this.prefix.length);
    validateClientMessage(message);
    this.awareness.countDocumentMessage(this.internal);
    return type === MessageType.Sync ? this.restrictInbound(message, this.internal, this.internal) : message;
  }
}
