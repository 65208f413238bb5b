/**
 * Where the structs of a Yjs update will land in a document, predicted the way Yjs integrates them
 * (yjs src/utils/encoding.js `integrateStructs`, src/structs/Item.js `getMissing`/`integrate`),
 * without applying anything. The comment guard judges each struct by this location.
 *
 * Placement. An item names its neighbours by ID: `origin` (left) and `rightOrigin`; only an item with
 * neither carries its parent (a root name or the ID of a nested type) and map key. Yjs takes parent
 * and key from the LEFT neighbour when there is one, else from the right one. If either neighbour
 * (or the parent's item) is a GC struct, the item is turned into GC: it takes its ids but joins no type.
 *
 * Pending. Yjs integrates a struct only when everything it names is there: each origin, right origin
 * and parent ID of another client must be below the document's state for that client, or be placed
 * earlier from the same update; a client's structs are integrated in clock order and the first one
 * must start at or below the document's state (no gap; a Skip struct integrates nothing). Anything
 * else is parked as "pending" — with every later struct of that client — and integrated by whichever
 * later update supplies the missing ids, next to those ids: where no guard looked. Likewise a delete
 * range beyond the state (once this update's structs are in) is kept and applied to whatever later
 * arrives under those ids, from anyone. So a placeable update is one that leaves nothing pending:
 * every struct (also one the document already has, which Yjs still resolves) is placeable, in a
 * dependency order without cycles, and every delete range ends within the state after the update.
 * An unplaceable update cannot be judged and is refused for everyone (UNPLACEABLE); a client that
 * really has the missing ids sends them along after reconnecting (its sync step 2 carries everything
 * the server lacks, in one update).
 *
 * Yjs reads an update's client blocks into a map, so a client listed in two blocks keeps only the
 * last one, while `Y.decodeUpdate` lists both: such an update is refused as invalid.
 */
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import { COMMENTS, REACTIONS, THREADS } from "../../../protocol/comment-schema.ts";

export type Struct = Y.Item | Y.GC | Y.Skip;
type AnyType = Y.AbstractType<unknown>;

/** The refusal reason for an update that names ids the document does not have. */
export const UNPLACEABLE = "update_dependencies_missing";

export interface Location {
  /** A comment root name, or null for document content (GC included). */
  root: string | null;
  key: string | null;
}
export const CONTENT: Location = { root: null, key: null };
/** Content too, but an item next to it becomes GC as well. */
export const GC_LOCATION: Location = { root: null, key: null };

export class UnplaceableUpdate extends Error {
  readonly reason: "invalid_update" | typeof UNPLACEABLE;
  constructor(reason: "invalid_update" | typeof UNPLACEABLE, message: string) {
    super(message);
    this.reason = reason;
  }
}

const PLACED = 2;
const VISITING = 1;

export class UpdatePlacement {
  readonly structs: Struct[];
  readonly ds: ReturnType<typeof Y.decodeUpdate>["ds"];
  private readonly doc: Y.Doc;
  /** Per client, indices into `structs`, in clock order (contiguous). */
  private readonly byClient = new Map<number, number[]>();
  private readonly rootNames = new Map<AnyType, string>();
  private readonly serverStates = new Map<number, number>();
  private locations: Array<Location | undefined> = [];

  constructor(doc: Y.Doc, update: Uint8Array) {
    this.doc = doc;
    const decoded = Y.decodeUpdate(update);
    this.structs = decoded.structs as Struct[];
    this.ds = decoded.ds;
    let previous: number | null = null;
    this.structs.forEach((s, i) => {
      const list = this.byClient.get(s.id.client);
      if (!list) this.byClient.set(s.id.client, [i]);
      else if (previous !== s.id.client) throw new UnplaceableUpdate("invalid_update", "A client appears in two blocks");
      else list.push(i);
      previous = s.id.client;
    });
    // One block per client, none empty: otherwise Yjs would drop the structs of a repeated client.
    if (decoding.readVarUint(decoding.createDecoder(update)) !== this.byClient.size) {
      throw new UnplaceableUpdate("invalid_update", "A client appears in two blocks");
    }
    for (const name of [THREADS, COMMENTS, REACTIONS]) {
      const type = doc.share.get(name);
      if (type) this.rootNames.set(type as AnyType, name);
    }
  }

  /** The document's state (next clock) for `client` before this update. */
  serverState(client: number): number {
    let state = this.serverStates.get(client);
    if (state === undefined) {
      state = Y.getState(this.doc.store, client);
      this.serverStates.set(client, state);
    }
    return state;
  }

  /** Whether the document already has all of struct `s`. */
  isKnown(s: Struct): boolean {
    return s.id.clock + s.length <= this.serverState(s.id.client);
  }

  /**
   * Place every struct (throws UnplaceableUpdate when Yjs would leave anything pending) and return
   * the location of each struct that is new to the document.
   */
  place(): Array<{ struct: Y.Item | Y.GC; where: Location }> {
    const n = this.structs.length;
    const state = new Uint8Array(n);
    const deps: Array<number[] | undefined> = new Array(n);
    this.locations = new Array(n);
    const stack: number[] = [];
    for (let root = 0; root < n; root++) {
      if (state[root] === PLACED || this.structs[root] instanceof Y.Skip) continue;
      state[root] = VISITING;
      stack.push(root);
      while (stack.length > 0) {
        const i = stack[stack.length - 1]!;
        const needs = (deps[i] ??= this.dependencies(i));
        let next = -1;
        for (const j of needs) {
          if (state[j] === PLACED) continue;
          if (state[j] === VISITING) throw new UnplaceableUpdate(UNPLACEABLE, "The update's structs depend on each other in a cycle");
          next = j;
          break;
        }
        if (next >= 0) {
          state[next] = VISITING;
          stack.push(next);
          continue;
        }
        this.locations[i] = this.locate(this.structs[i] as Y.Item | Y.GC);
        state[i] = PLACED;
        stack.pop();
      }
    }
    const fresh: Array<{ struct: Y.Item | Y.GC; where: Location }> = [];
    this.structs.forEach((s, i) => {
      if (!(s instanceof Y.Skip) && !this.isKnown(s)) fresh.push({ struct: s, where: this.locations[i]! });
    });
    return fresh;
  }

  /** The state of `client` once this (placeable) update is integrated. */
  stateAfter(client: number): number {
    let state = this.serverState(client);
    const list = this.byClient.get(client) ?? [];
    for (let k = list.length - 1; k >= 0; k--) {
      const s = this.structs[list[k]!]!;
      if (s instanceof Y.Skip) continue;
      state = Math.max(state, s.id.clock + s.length);
      break;
    }
    return state;
  }

  /** Location of an item already in the document (a nested type is never one of the roots). */
  locateKnown(item: Y.Item): Location {
    const root = item.parent ? this.rootNames.get(item.parent as AnyType) : undefined;
    return root ? { root, key: item.parentSub } : CONTENT;
  }

  /** Update structs that must be integrated before struct `i`; throws if something is nowhere. */
  private dependencies(i: number): number[] {
    const s = this.structs[i]!;
    const client = s.id.client;
    const list = this.byClient.get(client)!;
    const position = binarySearch(this.structs, list, s.id.clock);
    const needs: number[] = [];
    const previous = position > 0 ? list[position - 1]! : null;
    if (previous !== null && !(this.structs[previous] instanceof Y.Skip)) needs.push(previous);
    else if (s.id.clock > this.serverState(client)) throw new UnplaceableUpdate(UNPLACEABLE, "The update skips clocks the server does not have");
    if (!(s instanceof Y.Item)) return needs;
    const parent = s.parent as unknown;
    for (const id of [s.origin, s.rightOrigin, parent instanceof Y.ID ? parent : null]) {
      if (!id) continue;
      if (id.client === client) {
        // Earlier clocks of the same client are placed before this struct (Yjs does not check them).
        if (id.clock >= s.id.clock) throw new UnplaceableUpdate(UNPLACEABLE, "An item names a later id of its own client");
        continue;
      }
      if (id.clock < this.serverState(id.client)) continue;
      const j = this.indexOf(id);
      if (j === null) throw new UnplaceableUpdate(UNPLACEABLE, "The update names an id the server does not have");
      needs.push(j);
    }
    return needs;
  }

  /** Index of the (non-Skip) update struct holding `id`, or null. */
  private indexOf(id: Y.ID): number | null {
    const list = this.byClient.get(id.client);
    if (!list) return null;
    const k = binarySearch(this.structs, list, id.clock);
    if (k < 0) return null;
    const j = list[k]!;
    return this.structs[j] instanceof Y.Skip ? null : j;
  }

  /** Where a struct whose dependencies are placed lands (see the file comment). */
  private locate(s: Y.Item | Y.GC): Location {
    if (!(s instanceof Y.Item)) return GC_LOCATION;
    const parent = s.parent as unknown;
    if (typeof parent === "string") {
      return parent === THREADS || parent === COMMENTS || parent === REACTIONS ? { root: parent, key: s.parentSub } : CONTENT;
    }
    if (parent instanceof Y.ID) {
      const holder = this.locationOf(parent);
      return holder.struct instanceof Y.Item && holder.struct.content instanceof Y.ContentType ? CONTENT : GC_LOCATION;
    }
    const left = s.origin ? this.locationOf(s.origin).where : null;
    const right = s.rightOrigin ? this.locationOf(s.rightOrigin).where : null;
    if (left === GC_LOCATION || right === GC_LOCATION) return GC_LOCATION;
    return left ?? right ?? GC_LOCATION; // no origin and no parent: Yjs makes it GC too
  }

  /** The struct holding `id` (document or this update, already placed) and its location. */
  private locationOf(id: Y.ID): { struct: Struct | null; where: Location } {
    if (id.clock < this.serverState(id.client)) {
      const structs = this.doc.store.clients.get(id.client) as Struct[];
      const server = structs[binarySearch(structs, null, id.clock)] ?? null;
      if (!(server instanceof Y.Item)) return { struct: server, where: GC_LOCATION };
      return { struct: server, where: this.locateKnown(server) };
    }
    const j = this.indexOf(id)!;
    return { struct: this.structs[j]!, where: this.locations[j]! };
  }
}

/**
 * Binary search for the struct containing `clock` among one client's ordered structs: `structs`
 * itself (list null) or the entries of `structs` listed by index in `list`. Returns the position, or -1.
 */
export function binarySearch(structs: Struct[], list: number[] | null, clock: number): number {
  let lo = 0;
  let hi = (list ? list.length : structs.length) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = structs[list ? list[mid]! : mid]!;
    if (clock < s.id.clock) hi = mid - 1;
    else if (clock >= s.id.clock + s.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}
