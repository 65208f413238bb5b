/**
 * Reading just enough of a Hocuspocus message to route or inspect it. A message is
 * varString(address) · varUint(type) · payload; sync payloads are varUint(step) · varUint8Array.
 * Malformed input throws; callers turn that into a close code.
 */
import * as decoding from "lib0/decoding";
import * as Y from "yjs";

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
  Ping: 9,
  Pong: 10,
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

/**
 * Check that a client's message is one Hocuspocus can handle, reading it the way Hocuspocus will:
 * the address, a known type, and that type's payload; document updates are decoded in full with
 * Yjs. Throws on anything else. The socket edge runs this before a message reaches Hocuspocus, so
 * a malformed message closes its socket (4400) instead of reaching the update log or Yjs, where it
 * would close only one document with Hocuspocus' generic 4205 and leave a row that cannot load.
 * Trailing bytes are tolerated, as Hocuspocus tolerates them.
 */
export function validateClientMessage(message: Uint8Array): void {
  const decoder = skipAddress(message);
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MessageType.Sync:
    case MessageType.SyncReply: {
      const step = decoding.readVarUint(decoder);
      const payload = readPayload(decoder);
      if (step === SyncStep.Step1) Y.decodeStateVector(payload);
      else if (step === SyncStep.Step2 || step === SyncStep.Update) Y.decodeUpdate(payload);
      else throw new RangeError(`unknown sync step ${step}`);
      return;
    }
    case MessageType.Awareness:
      readAwarenessUpdate(readPayload(decoder));
      return;
    case MessageType.Auth:
      decoding.readVarUint(decoder);
      readPayload(decoder); // the token
      return;
    case MessageType.Stateless:
      readPayload(decoder);
      return;
    case MessageType.QueryAwareness:
    case MessageType.Close:
    case MessageType.SyncStatus:
    case MessageType.Ping:
    case MessageType.Pong:
      return;
    case MessageType.BroadcastStateless: // server-internal (Redis); Hocuspocus refuses it from clients
    default:
      throw new RangeError(`message type ${type} is not accepted from clients`);
  }
}

/** lib0 strings and byte arrays are length-prefixed; lib0 itself does not check the length fits. */
export function readPayload(decoder: decoding.Decoder): Uint8Array {
  const length = decoding.readVarUint(decoder);
  if (decoder.pos + length > decoder.arr.length) throw new RangeError("payload runs past the end");
  return decoding.readUint8Array(decoder, length);
}

/**
 * y-protocols awareness: varUint(count) · count × (varUint(clientID) varUint(clock) varString(JSON)).
 * Only the structure here: presence (server/realtime/presence/) parses and checks the states a
 * connection owns (4400 / 4413) and drops the others — y-websocket echoes — without parsing them.
 */
function readAwarenessUpdate(update: Uint8Array): void {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
    readPayload(decoder);
  }
}
