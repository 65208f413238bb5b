/**
 * ws hands a message as a Buffer, an ArrayBuffer or a list of fragments; the edges read one Uint8Array.
 */
import type { RawData } from "ws";

/** A `ws` message as one Uint8Array (ws hands Buffers, ArrayBuffers or fragment lists). */
export function toUint8Array(raw: RawData): Uint8Array {
  if (Array.isArray(raw)) return new Uint8Array(Buffer.concat(raw));
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}
