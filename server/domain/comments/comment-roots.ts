/**
 * The server's current values in the three comment roots, read through Y.Map's public API.
 *
 * Yjs creates a root as a plain shared type when an update names it before any code has opened it
 * by type. Such a root is opened as a Y.Map here, as the comments extension does after every load;
 * opening replaces the type object that the root's items point to, so it happens before the guard
 * places anything (update-placement.ts maps type objects to root names). A root that the server
 * opened as another type has no map values to judge against: writes to it are refused.
 */
import * as Y from "yjs";
import { COMMENT_ROOTS } from "../../../protocol/comment-schema.ts";
import { Refused } from "./comment-rules.ts";

export class CommentRoots {
  /** Per root: its map, or null when the root is not a map. Absent: the document has no such root. */
  private readonly maps = new Map<string, Y.Map<unknown> | null>();

  constructor(doc: Y.Doc) {
    for (const name of COMMENT_ROOTS) {
      const type = doc.share.get(name);
      if (type === undefined) continue;
      if (type instanceof Y.Map) {
        this.maps.set(name, type);
        continue;
      }
      try {
        this.maps.set(name, doc.getMap(name));
      } catch {
        this.maps.set(name, null);
      }
    }
  }

  /** The key's current value (undefined when it has none, or its last value was deleted). */
  current(root: string, key: string): unknown {
    const map = this.maps.get(root);
    if (map === null) throw new Refused("comment_schema_invalid", `${root} is not a map in this document`);
    return map?.get(key);
  }
}
