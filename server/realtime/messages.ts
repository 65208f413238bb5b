/**
 * Reading just enough of a Hocuspocus message to route or inspect it. A message is
 * varString(address) · varUint(type) · payload; sync payloads are varUint(step) · varUint8Array.
 * Malformed input throws; callers turn that into a close code.
 */
import * as decoding from "lib0/decoding";

export const MessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  SyncReply: 4,
  Stateless: 5,
  BroadcastStateless: 6,
  Close: 7,
  SyncStatus: 8,
} as const;

export const SyncStep = { Step1: 0, Step2: 1, Update: 2 } as const;

/** Skip the address; returns a decoder positioned at the message type. */
export function skipAddress(message: Uint8Array): decoding.Decoder {
  const decoder = decoding.createDecoder(message);
  const length = decoding.readVarUint(decoder);
  if (decoder.pos + length > message.length) throw new RangeError("message address runs past the end");
  decoder.pos += length;
  return decoder;
}

/** The Yjs update a sync message carries (step 2 or update), or null for anything else. */
export function readDocumentUpdate(message: Uint8Array): Uint8Array | null {
  const decoder = skipAddress(message);
  const type = decoding.readVarUint(decoder);
  if (type !== MessageType.Sync && type !== MessageType.SyncReply) return null;
  const step = decoding.readVarUint(decoder);
  if (step !== SyncStep.Step2 && step !== SyncStep.Update) return null;
  return decoding.readVarUint8Array(decoder);
}
