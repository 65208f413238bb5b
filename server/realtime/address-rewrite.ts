/**
 * Outbound addresses on /collab. Hocuspocus addresses every reply and broadcast by the document's
 * internal name (`\u0001org/room`, or `\u0001org/room\0session`; protocol/document-name.ts); a
 * client knows its room by the plain id (`room`, `room\0session`), so the edge rewrites the address
 * of every message on the way out.
 *
 * Document.broadcast encodes a message once per address and hands the same Uint8Array to every
 * connection of that address, so the rewriter keeps the last source array and its rewritten bytes:
 * a broadcast to the N sockets of a room rewrites once. One rewriter serves every socket of a
 * server (created by the composition root); a message must not change after it was sent, which
 * Hocuspocus' and our own encoders never do.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { clientAddressOf, INTERNAL_MARK } from "../../protocol/document-name.ts";

const MARK = INTERNAL_MARK.charCodeAt(0);

/** Rewrites outbound messages' internal addresses to client addresses, once per distinct message. */
export class ClientAddressRewriter {
  private source: Uint8Array | null = null;
  private result: Uint8Array | null = null;

  /** `message` addressed as the client knows its room; `message` itself when it already is. Never mutate the result. */
  toClient(message: Uint8Array): Uint8Array {
    if (message === this.source) return this.result!;
    const result = rewriteToClient(message);
    this.source = message;
    this.result = result;
    return result;
  }
}

/** `message` with its internal address replaced by the client's (clientAddressOf). */
function rewriteToClient(message: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(message);
  const length = decoding.readVarUint(decoder);
  if (message[decoder.pos] !== MARK || length === 0) return message;
  decoder.pos = 0;
  const address = decoding.readVarString(decoder);
  return withAddress(clientAddressOf(address), message, decoder.pos);
}

/** A copy of `message` from `bodyStart` on, behind `address` instead of the address it had. */
export function withAddress(address: string, message: Uint8Array, bodyStart: number): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, address);
  encoding.writeUint8Array(encoder, message.subarray(bodyStart));
  return encoding.toUint8Array(encoder);
}
