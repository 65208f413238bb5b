/**
 * Hand-built awareness frames for tests that must send what no provider would: another client's
 * id, a removal of someone else's state, oversized or non-JSON states, floods.
 */
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { MessageType } from "../../protocol/messages.ts";

export interface RawState {
  clientId: number;
  clock: number;
  /** A JSON-able state, null for "left", or a string sent verbatim (for malformed JSON). */
  state: unknown;
  raw?: boolean;
}

/** varUint(count) · (varUint(id) varUint(clock) varString(JSON))* */
export function awarenessUpdate(entries: RawState[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(e, entry.clientId);
    encoding.writeVarUint(e, entry.clock);
    encoding.writeVarString(e, entry.raw ? String(entry.state) : JSON.stringify(entry.state));
  }
  return encoding.toUint8Array(e);
}

/** A /collab awareness frame: varString(address) varUint(Awareness) varUint8Array(update). */
export function awarenessFrame(address: string, entries: RawState[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, MessageType.Awareness);
  encoding.writeVarUint8Array(e, awarenessUpdate(entries));
  return encoding.toUint8Array(e);
}

/** Decode the states carried by a received /collab awareness frame; null for other frames. */
export function readAwarenessFrame(frame: Uint8Array): Map<number, unknown> | null {
  const d = decoding.createDecoder(frame);
  decoding.readVarString(d);
  if (decoding.readVarUint(d) !== MessageType.Awareness) return null;
  const u = decoding.createDecoder(decoding.readVarUint8Array(d));
  const states = new Map<number, unknown>();
  const count = decoding.readVarUint(u);
  for (let i = 0; i < count; i++) {
    const id = decoding.readVarUint(u);
    decoding.readVarUint(u);
    states.set(id, JSON.parse(decoding.readVarString(u)));
  }
  return states;
}
