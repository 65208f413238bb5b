/**
 * The `/collab` edge: the Hocuspocus protocol, one socket multiplexing documents by address.
 * What both edges share (accepting, closing, close codes, rate limit, read levels, timeouts) is in
 * socket-edge.ts.
 *
 * Clients address rooms by their plain id; documents are named per organisation on the server
 * (protocol/document-name.ts). Inbound, the address of each message is rewritten to the internal
 * name: the organisation comes from the access token in the Auth message that opens each address
 * (read, not trusted — onAuthenticate verifies it and checks it matches). Outbound, Hocuspocus
 * addresses every reply and broadcast by the internal name, and the server's shared
 * ClientAddressRewriter (address-rewrite.ts) gives it back the plain id, once per broadcast.
 *
 * Malformed frames close only this socket (4400), text frames 1003, oversized frames 1009 (ws).
 */
import type { WebSocket } from "ws";
import * as decoding from "lib0/decoding";
import type { Hocuspocus } from "@hocuspocus/server";
import { MessageType, readPayload, validateClientMessage } from "../../protocol/messages.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import { withAddress } from "./address-rewrite.ts";
import { deleteEntry, EMPTY_MAP, setEntry } from "./empty-maps.ts";
import { createEdgeOptions, documentNameOf, EdgeRejection, routeDocumentName, SocketEdge, type EdgeOptions } from "./socket-edge.ts";

/**
 * What a socket may send for addresses whose Auth message has not arrived yet, held until it does.
 * A provider sends little there (edits made while its token is fetched); Hocuspocus caps its own
 * queue, for authenticating documents, at 5 MB and 1,000 messages per connection.
 */
export const MAX_HELD_PER_ADDRESS = 200;
export const MAX_HELD_MESSAGES = 1000;
export const MAX_HELD_BYTES = 4 * 1024 * 1024;

const MAX_ADDRESSES = 100;

export class CollabSocket extends SocketEdge {
  private waiting: ReadonlyMap<string, Uint8Array[]> = EMPTY_MAP;
  private heldMessages = 0;
  private heldBytes = 0;

  constructor(ws: WebSocket, options: EdgeOptions = createEdgeOptions()) {
    super(ws, options, { endpoint: "collab", overflow: CloseCodes.TooManyRequests, bodyOnly: false });
  }

  /** Wire the socket to Hocuspocus; called once per accepted upgrade. */
  static accept(ws: WebSocket, hocuspocus: Hocuspocus, remoteAddress: string, options?: EdgeOptions): CollabSocket {
    const socket = new CollabSocket(ws, options);
    socket.start(hocuspocus, remoteAddress);
    return socket;
  }

  send(data: Uint8Array | ArrayBufferLike | string | Blob | ArrayBufferView): void {
    if (this.ws.readyState !== 1) return;
    if (!(data instanceof Uint8Array)) {
      this.transmit(data as Uint8Array | string);
      return;
    }
    if (!this.authenticated) this.noteOutbound(data);
    const message = this.outbound.addresses.toClient(data);
    this.transmit(this.restricted.size === 0 ? message : this.restrictOutbound(message, readAddress(message)));
  }

  /**
   * Refuse one document: after Hocuspocus has sent its permission-denied message, close the socket
   * with `code` unless the socket still carries other documents.
   */
  protected refuseDocument(internalName: string, code: number, reason: string): void {
    for (const [address, internal] of this.addresses) {
      if (documentNameOf(internal) === internalName) {
        this.dropAddress(address);
        this.awareness.forget(internal);
      }
    }
    setImmediate(() => {
      if (this.addresses.size === 0) this.close(code, reason);
    });
  }

  protected override released(): void {
    this.waiting = EMPTY_MAP;
    this.heldMessages = 0;
    this.heldBytes = 0;
  }

  /**
   * Rewrite an inbound message's address to the internal name, after reading all of it the way
   * Hocuspocus will (validateClientMessage: a malformed one must close this socket here, not reach
   * the update log or Yjs). Null when it is held until its Auth message, or handled here.
   */
  protected inbound(data: Uint8Array): Uint8Array | null {
    // The provider answers a server Ping with a bare one-byte Pong that has no address.
    if (data.length === 1 && data[0] === MessageType.Pong) return null;
    validateClientMessage(data);
    return this.route(data);
  }

  private route(data: Uint8Array): Uint8Array | null {
    const decoder = decoding.createDecoder(data);
    const address = decoding.readVarString(decoder);
    const bodyStart = decoder.pos;
    const type = decoding.readVarUint(decoder);
    const internal = this.addresses.get(address);
    if (internal === undefined) {
      if (type !== MessageType.Auth) {
        this.hold(address, data);
        return null;
      }
      decoding.readVarUint(decoder); // auth sub-type
      return this.open(address, decoding.readVarString(decoder), data, bodyStart);
    }
    if (type === MessageType.Awareness) {
      // Awareness never enters Hocuspocus' message path: presence is ours (presence/presence-hub.ts).
      this.awareness.receive(internal, readPayload(decoder));
      return null;
    }
    if (type === MessageType.QueryAwareness) {
      this.awareness.query(internal);
      return null;
    }
    if (type === MessageType.Auth) {
      decoding.readVarUint(decoder);
      this.renewToken(address, decoding.readVarString(decoder));
      return withAddress(internal, data, bodyStart);
    }
    this.awareness.countDocumentMessage(internal);
    const message = withAddress(internal, data, bodyStart);
    if (this.restricted.size === 0 || (type !== MessageType.Sync && type !== MessageType.SyncReply)) return message;
    return this.restrictInbound(message, address, internal);
  }

  /** An address's Auth message: route it, then what was held for it, in order. */
  private open(address: string, token: string, data: Uint8Array, bodyStart: number): Uint8Array | null {
    const sep = address.indexOf("\u0000");
    const internal = routeDocumentName(sep === -1 ? address : address.slice(0, sep), token) + (sep === -1 ? "" : address.slice(sep));
    if (this.addresses.size >= MAX_ADDRESSES) throw new Error("too many documents on one connection");
    this.openAddress(address, internal, token);
    const first = withAddress(internal, data, bodyStart);
    const held = this.waiting.get(address);
    if (!held) return first;
    this.waiting = deleteEntry(this.waiting, address);
    this.heldMessages -= held.length;
    for (const message of held) this.heldBytes -= message.byteLength;
    // Auth first, then what arrived before it, in order, through the rate limit like any other
    // message: holding must not be a way around it.
    this.rate.submit(first);
    for (const message of held) {
      const routed = this.route(message);
      if (routed) this.rate.submit(routed);
    }
    return null;
  }

  /**
   * Keep a message until its address authenticates. Bounded per socket in bytes, not only in
   * messages: 200 × 100 addresses of 1 MiB frames would otherwise be 20 GiB. Over a bound → 4413.
   */
  private hold(address: string, data: Uint8Array): void {
    const queue = this.waiting.get(address) ?? [];
    if (queue.length === 0 && this.waiting.size >= MAX_ADDRESSES) throw new Error("too many documents on one connection");
    if (queue.length >= MAX_HELD_PER_ADDRESS || this.heldMessages >= MAX_HELD_MESSAGES || this.heldBytes + data.byteLength > MAX_HELD_BYTES) {
      throw new EdgeRejection(CloseCodes.HeldTooLarge, "too much sent before authentication");
    }
    // A copy: `data` may be a view into a larger buffer ws read, which holding it would keep alive.
    queue.push(data.slice());
    this.waiting = setEntry(this.waiting, address, queue);
    this.heldMessages += 1;
    this.heldBytes += data.byteLength;
  }
}

/** The address a message starts with. */
function readAddress(message: Uint8Array): string {
  return decoding.readVarString(decoding.createDecoder(message));
}
