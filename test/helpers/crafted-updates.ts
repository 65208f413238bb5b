/**
 * Yjs updates written struct by struct with Yjs' public encoder (`Y.UpdateEncoderV1`, `Item.write`),
 * for tests that send what no Y.Doc would: items whose origins name ids the receiver does not have
 * yet, gaps, skips, a client in two blocks, delete ranges over future ids.
 *
 * V1 layout: varUint(#blocks), per block varUint(#structs) · client · varUint(first clock) · structs;
 * then the delete set: varUint(#clients), per client · client · varUint(#ranges) · (clock, len)*.
 */
import * as Y from "yjs";
import * as encoding from "lib0/encoding";

export interface CraftedItem {
  kind?: "item";
  /** Left origin: the item is placed right of this id. */
  origin?: Y.ID | null;
  rightOrigin?: Y.ID | null;
  /** Only read when both origins are null: a root name or the id of a nested type. */
  parent?: string | Y.ID | null;
  parentSub?: string | null;
  /** One JSON value (ContentAny); `deleted: n` writes a tombstone of length n instead. */
  value?: unknown;
  deleted?: number;
}
export type CraftedStruct = CraftedItem | { kind: "skip"; length: number } | { kind: "gc"; length: number };

export interface CraftedBlock {
  client: number;
  clock: number;
  structs: CraftedStruct[];
}

/** The clock a client's next struct gets in `doc` (its state). */
export function nextClock(doc: Y.Doc, client: number): number {
  return Y.decodeStateVector(Y.encodeStateVector(doc)).get(client) ?? 0;
}

/** Encode blocks exactly as given (a client may appear twice) and a delete set. */
export function encodeBlocks(blocks: CraftedBlock[], deletes: Array<{ client: number; clock: number; len: number }> = []): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  encoding.writeVarUint(encoder.restEncoder, blocks.length);
  for (const block of blocks) {
    encoding.writeVarUint(encoder.restEncoder, block.structs.length);
    encoder.writeClient(block.client);
    encoding.writeVarUint(encoder.restEncoder, block.clock);
    let clock = block.clock;
    for (const s of block.structs) {
      if (s.kind === "skip") {
        encoder.writeInfo(10);
        encoding.writeVarUint(encoder.restEncoder, s.length);
        clock += s.length;
      } else if (s.kind === "gc") {
        encoder.writeInfo(0);
        encoder.writeLen(s.length);
        clock += s.length;
      } else {
        const content = s.deleted !== undefined ? new Y.ContentDeleted(s.deleted) : new Y.ContentAny([s.value ?? null]);
        const item = new Y.Item(Y.createID(block.client, clock), null, s.origin ?? null, null, s.rightOrigin ?? null, (s.parent ?? null) as never, s.parentSub ?? null, content);
        item.write(encoder, 0);
        clock += item.length;
      }
    }
  }
  const byClient = new Map<number, Array<{ clock: number; len: number }>>();
  for (const d of deletes) {
    const list = byClient.get(d.client) ?? [];
    list.push(d);
    byClient.set(d.client, list);
  }
  encoding.writeVarUint(encoder.restEncoder, byClient.size);
  for (const [client, ranges] of byClient) {
    encoding.writeVarUint(encoder.restEncoder, client);
    encoding.writeVarUint(encoder.restEncoder, ranges.length);
    for (const r of ranges) {
      encoder.writeDsClock(r.clock);
      encoder.writeDsLen(r.len);
    }
  }
  return encoder.toUint8Array();
}

/** One block of items for one client starting at `clock`. */
export function encodeItems(client: number, clock: number, items: CraftedItem[], deletes: Array<{ client: number; clock: number; len: number }> = []): Uint8Array {
  return encodeBlocks([{ client, clock, structs: items }], deletes);
}

/** An update of only a delete set. */
export function encodeDeletes(deletes: Array<{ client: number; clock: number; len: number }>): Uint8Array {
  return encodeBlocks([], deletes);
}
