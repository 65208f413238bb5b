/**
 * What a connection without room read access is sent of a room's document (docs/architecture.md,
 * "Read scopes"). Comments live in the room's Yjs document (three top-level Y.Maps, schema.ts), so
 * a token with comments:* but neither room:read nor room:write must get those maps and never the
 * content; a token with only room:presence:write gets none of the document.
 *
 * Yjs update (V1): structs per client (a first clock, then structs whose lengths give the next
 * clocks), then a delete set (client → clock/len ranges). Outbound, for the `comments` level, every
 * struct that does not land in a comment root map is written as a GC struct of the same id and
 * length, consecutive GC runs merged: the client's clocks stay contiguous, so later updates of the
 * same Yjs client (a writer's next comment) still integrate, and the client's copy holds the comment
 * maps exactly, with no content. Where a struct lands is read from the server's own document: every
 * struct of an outbound update is in its store, except structs Yjs holds as pending (a sync step 2
 * carries them too), which are left out — the client then waits for them as the server does, and
 * gets them with the server's broadcast once they integrate. The delete set passes unchanged (ids
 * only). The `presence` level gets empty updates and an empty state vector.
 *
 * Inbound, a restricted client's own delete set names the GC ranges it was sent (Yjs counts GC as
 * deleted), and the comment guard would take that for deleting content. withoutHiddenDeletions drops
 * those ranges, and only those, before the guard judges the rest.
 */
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import { MessageType, SyncStep, readPayload, skipAddress } from "../../protocol/messages.ts";
import { COMMENT_ROOTS } from "../../protocol/comment-schema.ts";
import type { ReadLevel } from "../../protocol/permissions.ts";

export type RestrictedLevel = Exclude<ReadLevel, "full">;

/** A V1 update with no structs and an empty delete set. */
export const EMPTY_UPDATE = new Uint8Array([0, 0]);
/** A state vector naming no client. */
export const EMPTY_STATE_VECTOR = new Uint8Array([0]);

type Struct = Y.Item | Y.GC | Y.Skip;
type AnyType = Y.AbstractType<unknown>;

/** One struct to write: a decoded struct as it is, or a GC / Skip range built here. */
type Out = { struct: Struct } | { gc: true; clock: number; len: number } | { skip: true; clock: number; len: number };

/**
 * The update a restricted connection may see of `update` (an update from `doc`'s own store, i.e.
 * a sync step 2 or a broadcast): comment-map structs as they are, everything else as GC.
 */
export function filterUpdate(doc: Y.Doc, update: Uint8Array, level: RestrictedLevel): Uint8Array {
  if (level === "presence") return EMPTY_UPDATE;
  const { structs, ds } = Y.decodeUpdate(update);
  const locate = createLocator(doc);
  const runs = new Map<number, Out[]>();
  for (const s of structs) {
    const client = s.id.client;
    let run = runs.get(client);
    if (!run) runs.set(client, (run = []));
    const { clock } = s.id;
    if (s instanceof Y.Skip) {
      run.push({ skip: true, clock, len: s.length });
      continue;
    }
    // Only what the server has integrated is known to land anywhere; the rest is pending here too.
    const integrated = Math.min(s.length, Y.getState(doc.store, client) - clock);
    if (integrated <= 0) {
      run.push({ skip: true, clock, len: s.length });
      continue;
    }
    if (s instanceof Y.Item && locate(client, clock)) {
      run.push({ struct: s }); // comment data, whole (the server integrates the rest of it likewise)
      continue;
    }
    pushGc(run, clock, integrated);
    if (integrated < s.length) run.push({ skip: true, clock: clock + integrated, len: s.length - integrated });
  }
  return encodeUpdate(runs, ds);
}

/**
 * A restricted client's update without the deletions of ids that, on the server, are not comment
 * map items: the GC ranges it was sent (see the file comment). Everything else is left for the
 * comment guard to judge. Returns `update` itself when nothing was dropped.
 */
export function withoutHiddenDeletions(doc: Y.Doc, update: Uint8Array): Uint8Array {
  const { structs, ds } = Y.decodeUpdate(update);
  if (ds.clients.size === 0) return update;
  const roots = commentRootsOf(doc);
  let dropped = false;
  const kept = new Map<number, Array<{ clock: number; len: number }>>();
  for (const [client, ranges] of ds.clients) {
    const state = Y.getState(doc.store, client);
    const structsOfClient = doc.store.clients.get(client);
    const out: Array<{ clock: number; len: number }> = [];
    for (const range of ranges) {
      const end = range.clock + range.len;
      let clock = range.clock;
      if (structsOfClient && clock < state) {
        // Walk the server's structs over the known part of the range, keeping comment items.
        let i = Y.findIndexSS(structsOfClient, clock);
        while (clock < Math.min(end, state)) {
          const s = structsOfClient[i++]!;
          const to = Math.min(end, s.id.clock + s.length);
          if (isCommentEntry(s, roots)) addRange(out, clock, to - clock);
          else dropped = true;
          clock = to;
        }
      }
      if (clock < end) addRange(out, clock, end - clock);
    }
    if (out.length > 0) kept.set(client, out);
  }
  if (!dropped) return update;
  const runs = new Map<number, Out[]>();
  for (const s of structs) {
    let run = runs.get(s.id.client);
    if (!run) runs.set(s.id.client, (run = []));
    run.push({ struct: s });
  }
  return encodeUpdate(runs, { clients: kept });
}

/** The document's comment root types (public `doc.share`), for comparing an item's parent. */
function commentRootsOf(doc: Y.Doc): Set<AnyType> {
  const roots = new Set<AnyType>();
  for (const name of COMMENT_ROOTS) {
    const type = doc.share.get(name);
    if (type) roots.add(type as AnyType);
  }
  return roots;
}

/** An entry of a comment root map; a nested type's children, a root's sequence part and GC are content. */
function isCommentEntry(s: Y.Item | Y.GC, roots: Set<AnyType>): boolean {
  return s instanceof Y.Item && s.parentSub !== null && roots.has(s.parent as AnyType);
}

/** Whether the struct of `doc` holding (client, clock) is a comment entry; consecutive lookups of one struct search once. */
function createLocator(doc: Y.Doc): (client: number, clock: number) => boolean {
  const roots = commentRootsOf(doc);
  let last: Y.Item | Y.GC | null = null;
  return (client, clock) => {
    if (roots.size === 0) return false;
    let s = last;
    if (s === null || s.id.client !== client || clock < s.id.clock || clock >= s.id.clock + s.length) {
      const structs = doc.store.clients.get(client);
      if (!structs || clock >= Y.getState(doc.store, client)) return false;
      s = structs[Y.findIndexSS(structs, clock)]!;
      last = s;
    }
    return isCommentEntry(s, roots);
  };
}

function pushGc(run: Out[], clock: number, len: number): void {
  const prev = run[run.length - 1];
  if (prev && "gc" in prev && prev.clock + prev.len === clock) prev.len += len;
  else run.push({ gc: true, clock, len });
}

function addRange(out: Array<{ clock: number; len: number }>, clock: number, len: number): void {
  const prev = out[out.length - 1];
  if (prev && prev.clock + prev.len === clock) prev.len += len;
  else out.push({ clock, len });
}

/** Write structs per client and a delete set as a V1 update (what Yjs' own writer produces). */
function encodeUpdate(runs: Map<number, Out[]>, ds: { clients: Map<number, Array<{ clock: number; len: number }>> }): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  const written: Array<[number, Out[]]> = [];
  for (const [client, run] of runs) {
    // Leading and trailing skips carry nothing: the first clock is written, and nothing follows.
    let from = 0;
    let to = run.length;
    while (from < to && "skip" in run[from]!) from++;
    while (to > from && "skip" in run[to - 1]!) to--;
    if (from < to) written.push([client, run.slice(from, to)]);
  }
  encoding.writeVarUint(encoder.restEncoder, written.length);
  for (const [client, run] of written) {
    encoding.writeVarUint(encoder.restEncoder, run.length);
    encoder.writeClient(client);
    encoding.writeVarUint(encoder.restEncoder, "struct" in run[0]! ? run[0].struct.id.clock : run[0]!.clock);
    for (const out of run) {
      if ("struct" in out) out.struct.write(encoder, 0);
      else if ("gc" in out) new Y.GC(Y.createID(client, out.clock), out.len).write(encoder, 0);
      else new Y.Skip(Y.createID(client, out.clock), out.len).write(encoder, 0);
    }
  }
  encoding.writeVarUint(encoder.restEncoder, ds.clients.size);
  for (const [client, ranges] of ds.clients) {
    encoder.resetDsCurVal();
    encoding.writeVarUint(encoder.restEncoder, client);
    encoding.writeVarUint(encoder.restEncoder, ranges.length);
    for (const range of ranges) {
      encoder.writeDsClock(range.clock);
      encoder.writeDsLen(range.len);
    }
  }
  return encoder.toUint8Array();
}

/**
 * Outbound read filtering for every socket of one server. A broadcast passes the same message to
 * every connection, so the last result is kept: each restricted connection of a room shares one
 * filtering. Created once per server (server/app.ts) and handed to the socket edges.
 */
export class OutboundReadFilter {
  private last: { message: Uint8Array; level: RestrictedLevel; doc: Y.Doc | undefined; result: Uint8Array } | null = null;

  /**
   * An outbound Hocuspocus message as a restricted connection may receive it: sync step 2 and
   * updates filtered (filterUpdate), the presence level's sync step 1 emptied; every other message
   * unchanged. Without the document, nothing of it is sent.
   */
  filter(message: Uint8Array, level: RestrictedLevel, doc: Y.Doc | undefined): Uint8Array {
    const last = this.last;
    if (last !== null && last.message === message && last.level === level && last.doc === doc) return last.result;
    const sync = readSyncMessage(message);
    if (sync === null) return message;
    let payload: Uint8Array;
    if (sync.step === SyncStep.Step1) {
      if (level !== "presence") return message;
      payload = EMPTY_STATE_VECTOR;
    } else if (sync.step === SyncStep.Step2 || sync.step === SyncStep.Update) {
      payload = doc === undefined ? EMPTY_UPDATE : filterUpdate(doc, sync.payload, level);
    } else {
      return message;
    }
    const result = withPayload(message, sync.payloadStart, payload);
    this.last = { message, level, doc, result };
    return result;
  }
}

/** An inbound sync message of a restricted connection without its hidden deletions (withoutHiddenDeletions). */
export function filterInboundMessage(message: Uint8Array, doc: Y.Doc | undefined): Uint8Array {
  const sync = readSyncMessage(message);
  if (sync === null || (sync.step !== SyncStep.Step2 && sync.step !== SyncStep.Update) || doc === undefined) return message;
  const update = withoutHiddenDeletions(doc, sync.payload);
  return update === sync.payload ? message : withPayload(message, sync.payloadStart, update);
}

/** A Sync or SyncReply message's step and payload (where its length prefix starts), or null for other messages. */
function readSyncMessage(message: Uint8Array): { step: number; payloadStart: number; payload: Uint8Array } | null {
  const decoder = skipAddress(message);
  const type = decoding.readVarUint(decoder);
  if (type !== MessageType.Sync && type !== MessageType.SyncReply) return null;
  const step = decoding.readVarUint(decoder);
  const payloadStart = decoder.pos;
  return { step, payloadStart, payload: readPayload(decoder) };
}

function withPayload(message: Uint8Array, payloadStart: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeUint8Array(encoder, message.subarray(0, payloadStart));
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}
