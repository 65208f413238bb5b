/**
 * A room's Yjs document as JSON, and small JSON edits made into a Yjs update (the REST API's
 * `GET /ydoc` and `PUT /ydoc` with a JSON body, docs/api.md).
 *
 * Reading: the server does not know which Yjs type a root was created as — a document loaded from
 * updates has untyped roots until someone asks for one with `getText`, `getMap`, … — and asking
 * changes the root for good. So every read works on copies of the document, one per type it tries,
 * and never types a root of the document itself. A root's type is told from its content: map
 * entries make a map; XML elements or text nodes an XML fragment; a sequence of characters a text;
 * any other sequence an array. A root with no content (never written, or all of it deleted) cannot
 * be told: it is left out of the whole document's JSON, and read alone it is `null` unless the
 * request names its type.
 *
 * Writing: edits are made on a copy, and what the copy's transaction produced is the update the
 * caller applies to the room like any client's (comment guard, update log, broadcast).
 */
import * as Y from "yjs";

export const ROOT_TYPES = ["text", "map", "array", "xml"] as const;
export type RootType = (typeof ROOT_TYPES)[number];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One JSON edit of a root (docs/api.md, "Write the document"). */
export type JsonChange =
  | { type: "text"; key: string; text: string }
  | { type: "map"; key: string; set?: Record<string, Json>; delete?: string[] }
  | { type: "array"; key: string; delete?: { index: number; length: number }; insert?: Json[]; index?: number };

/** Copies of one document, one per root type asked for (a copy's roots are typed once, for good). */
class TypedCopies {
  private readonly state: Uint8Array;
  private readonly copies = new Map<RootType, Y.Doc>();

  constructor(source: Y.Doc) {
    this.state = Y.encodeStateAsUpdate(source);
  }

  /** The root `key` read as `type` on that type's copy. */
  root(key: string, type: RootType): Y.AbstractType<any> {
    let copy = this.copies.get(type);
    if (copy === undefined) {
      copy = new Y.Doc();
      Y.applyUpdate(copy, this.state);
      this.copies.set(type, copy);
    }
    if (type === "text") return copy.getText(key);
    if (type === "map") return copy.getMap(key);
    if (type === "array") return copy.getArray(key);
    return copy.getXmlFragment(key);
  }

  destroy(): void {
    for (const copy of this.copies.values()) copy.destroy();
  }
}

/** The names of the document's roots. */
export function rootNames(doc: Y.Doc): string[] {
  return [...doc.share.keys()];
}

/** The type a root's content shows, or null when it has none left to tell by. */
function inferType(copies: TypedCopies, key: string): RootType | null {
  if ((copies.root(key, "map") as Y.Map<unknown>).size > 0) return "map";
  const items = (copies.root(key, "array") as Y.Array<unknown>).toArray();
  if (items.length === 0) return null;
  if (items.some((item) => item instanceof Y.XmlElement || item instanceof Y.XmlText)) return "xml";
  const text = (copies.root(key, "text") as Y.Text).toString();
  if (text.length === items.length && items.every((item) => typeof item === "string")) return "text";
  return "array";
}

function rootJson(copies: TypedCopies, key: string, type: RootType): unknown {
  const root = copies.root(key, type);
  if (type === "text" || type === "xml") return root.toString();
  return root.toJSON();
}

/**
 * The JSON of one root (`type` given, or told from its content), or of every root with content:
 * `{ name: value }`. Undefined when `key` names no root.
 */
export function readDocumentJson(doc: Y.Doc, pick?: { key: string; type?: RootType }): unknown {
  const copies = new TypedCopies(doc);
  try {
    if (pick) {
      if (!doc.share.has(pick.key)) return undefined;
      const type = pick.type ?? inferType(copies, pick.key);
      return type === null ? null : rootJson(copies, pick.key, type);
    }
    const out: Record<string, unknown> = {};
    for (const key of rootNames(doc)) {
      const type = inferType(copies, key);
      if (type !== null) out[key] = rootJson(copies, key, type);
    }
    return out;
  } finally {
    copies.destroy();
  }
}

/** A change names a root the document already shows as another type. */
export class RootTypeMismatch extends Error {
  readonly key: string;
  readonly actual: RootType;
  constructor(key: string, actual: RootType, wanted: RootType) {
    super(`The root "${key}" is a ${actual}, not a ${wanted}`);
    this.key = key;
    this.actual = actual;
  }
}

/**
 * The Yjs update that makes `changes` to `doc` (under a fresh Yjs client id), without touching
 * `doc`; null when they change nothing. Throws RootTypeMismatch, or RangeError for an index out of
 * range.
 */
export function updateFromChanges(doc: Y.Doc, changes: readonly JsonChange[]): Uint8Array | null {
  const copies = new TypedCopies(doc);
  try {
    for (const change of changes) {
      const actual = doc.share.has(change.key) ? inferType(copies, change.key) : null;
      if (actual !== null && actual !== change.type) throw new RootTypeMismatch(change.key, actual, change.type);
    }
  } finally {
    copies.destroy();
  }
  const copy = new Y.Doc();
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    const updates: Uint8Array[] = [];
    copy.on("update", (update: Uint8Array) => updates.push(update));
    copy.transact(() => {
      for (const change of changes) applyChange(copy, change);
    });
    return updates.length === 0 ? null : Y.mergeUpdates(updates);
  } finally {
    copy.destroy();
  }
}

function applyChange(doc: Y.Doc, change: JsonChange): void {
  if (change.type === "text") {
    replaceText(doc.getText(change.key), change.text);
  } else if (change.type === "map") {
    const map = doc.getMap<Json>(change.key);
    for (const key of change.delete ?? []) map.delete(key);
    for (const [key, value] of Object.entries(change.set ?? {})) map.set(key, value);
  } else {
    const array = doc.getArray<Json>(change.key);
    if (change.delete) {
      const { index, length } = change.delete;
      if (index + length > array.length) throw new RangeError(`"${change.key}" has ${array.length} items; cannot delete ${length} from ${index}`);
      array.delete(index, length);
    }
    if (change.insert) {
      const index = change.index ?? array.length;
      if (index > array.length) throw new RangeError(`"${change.key}" has ${array.length} items; cannot insert at ${index}`);
      array.insert(index, change.insert);
    }
  }
}

/** Replace a text's content, touching only what differs (others' cursors outside it stay put). */
function replaceText(text: Y.Text, next: string): void {
  const current = text.toString();
  let start = 0;
  while (start < current.length && start < next.length && current[start] === next[start]) start++;
  let end = 0;
  while (end < current.length - start && end < next.length - start && current[current.length - 1 - end] === next[next.length - 1 - end]) end++;
  const removed = current.length - start - end;
  if (removed > 0) text.delete(start, removed);
  const inserted = next.slice(start, next.length - end);
  if (inserted.length > 0) text.insert(start, inserted);
}
