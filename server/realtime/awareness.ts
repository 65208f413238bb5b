/**
 * The awareness wire format (y-protocols/awareness.js) and what the server adds to it: trusted
 * identity.
 *
 * An awareness update is varUint(count) then, per client, varUint(clientID) · varUint(clock) ·
 * varString(JSON state, or "null" when the client left). Hocuspocus 4.7 reads each update into a
 * scratch Y.Doc + Awareness to hand hooks a Map (≈ 80 µs per message for the Doc's random guid
 * alone); here the update is read as plain entries, the few the connection owns are parsed and
 * stamped, and a new update is written — no document, no Awareness instance.
 *
 * The state schema (docs/presence.md): `{ user: { id, name, avatar?, color } (server-stamped),
 * presence?, cursor?: { anchor, head } | null, pointer?: { x, y } | null, typing?, ...app fields }`.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import type { UserInfo } from "../auth/access-token.ts";
import { colorForUser } from "../../protocol/colors.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import { MessageType } from "../../protocol/messages.ts";

/** One client's entry in an update; `raw` is the UTF-8 JSON, not yet parsed. */
export interface RawAwarenessEntry {
  clientId: number;
  clock: number;
  raw: Uint8Array;
}

/** An entry whose state was parsed and checked: a plain object, or null (the client left). */
export interface AwarenessEntry {
  clientId: number;
  clock: number;
  state: Record<string, unknown> | null;
}

/** The identity the server writes into `user` of every state a connection sends. */
export interface StampedUser {
  id: string;
  name: string;
  avatar?: string;
  color: string;
}

/** Thrown for an update that must close its socket; `code`/`reason` are the close frame. */
export class AwarenessRejected extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export const AwarenessCloseCodes = {
  Malformed: { code: 4400, reason: "malformed_message" },
  TooLarge: CloseCodes.AwarenessTooLarge,
} as const;

/** Read an update into raw entries; throws on anything that is not one. */
export function readAwarenessEntries(update: Uint8Array): RawAwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  // Each entry takes at least three bytes: a count larger than that is a lie.
  if (count > update.length) throw new RangeError("awareness entry count runs past the end");
  const entries: RawAwarenessEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const length = decoding.readVarUint(decoder);
    if (decoder.pos + length > update.length) throw new RangeError("awareness state runs past the end");
    entries[i] = { clientId, clock, raw: update.subarray(decoder.pos, decoder.pos + length) };
    decoder.pos += length;
  }
  return entries;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const NULL_BYTES = [0x6e, 0x75, 0x6c, 0x6c]; // "null"

/** Parse and check one entry's state against the size limit (bytes of JSON). */
export function parseAwarenessEntry(entry: RawAwarenessEntry, maxStateBytes: number): AwarenessEntry {
  const { raw } = entry;
  if (raw.length > maxStateBytes) {
    throw new AwarenessRejected(
      AwarenessCloseCodes.TooLarge.code,
      AwarenessCloseCodes.TooLarge.reason,
      `awareness state of ${raw.length} bytes exceeds ${maxStateBytes}`,
    );
  }
  if (raw.length === 4 && raw[0] === NULL_BYTES[0] && raw[1] === NULL_BYTES[1] && raw[2] === NULL_BYTES[2] && raw[3] === NULL_BYTES[3]) {
    return { clientId: entry.clientId, clock: entry.clock, state: null };
  }
  let state: unknown;
  try {
    state = JSON.parse(utf8.decode(raw));
  } catch {
    throw malformed("awareness state is not JSON");
  }
  if (state === null) return { clientId: entry.clientId, clock: entry.clock, state: null };
  if (typeof state !== "object" || Array.isArray(state)) throw malformed("awareness state is not a JSON object");
  return { clientId: entry.clientId, clock: entry.clock, state: state as Record<string, unknown> };
}

function malformed(message: string): AwarenessRejected {
  return new AwarenessRejected(AwarenessCloseCodes.Malformed.code, AwarenessCloseCodes.Malformed.reason, message);
}

/** An entry ready to send: its state already stamped and serialised. */
export interface StampedEntry {
  clientId: number;
  clock: number;
  json: string;
}

/** Write entries whose states are already stamped JSON as one update. */
export function writeAwarenessUpdate(entries: Iterable<StampedEntry>, count: number): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, count);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, entry.json);
  }
  return encoding.toUint8Array(encoder);
}

/**
 * An awareness message carrying `update`: `varString(address) · 1 · varUint8Array(update)`, or without
 * the address (null) for y-websocket. A Buffer, written in one pass, so that ws sends it as it is.
 */
export function encodeAwarenessMessage(address: string | null, update: Uint8Array): Buffer {
  const addressBytes = address === null ? 0 : Buffer.byteLength(address, "utf8");
  const header = (address === null ? 0 : varUintLength(addressBytes) + addressBytes) + 1 + varUintLength(update.length);
  const message = Buffer.allocUnsafe(header + update.length);
  let pos = 0;
  if (address !== null) {
    pos = writeVarUint(message, pos, addressBytes);
    pos += message.write(address, pos, "utf8");
  }
  message[pos++] = MessageType.Awareness;
  pos = writeVarUint(message, pos, update.length);
  message.set(update, pos);
  return message;
}

function varUintLength(value: number): number {
  let length = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 128);
    length += 1;
  }
  return length;
}

function writeVarUint(target: Uint8Array, pos: number, value: number): number {
  while (value > 0x7f) {
    target[pos++] = 0x80 | (value & 0x7f);
    value = Math.floor(value / 128);
  }
  target[pos++] = value;
  return pos;
}

/**
 * The JSON of one state with the trusted identity in `user`. A connection without presence
 * permission is still seen: its state is reduced to `{ user }`.
 */
export function stampState(state: Record<string, unknown> | null, user: StampedUser, canWritePresence: boolean): string {
  if (state === null) return "null";
  if (!canWritePresence) return JSON.stringify({ user });
  state.user = user;
  return JSON.stringify(state);
}

export { USER_COLORS, colorForUser } from "../../protocol/colors.ts";

/** The `user` field for a connection: id and info from the verified token, colour by default. */
export function stampedUser(userId: string, info: UserInfo): StampedUser {
  const user: StampedUser = {
    id: userId,
    name: typeof info.name === "string" && info.name.length > 0 ? info.name : userId,
    color: typeof info.color === "string" && info.color.length > 0 ? info.color : colorForUser(userId),
  };
  if (typeof info.avatar === "string" && info.avatar.length > 0) user.avatar = info.avatar;
  return user;
}
