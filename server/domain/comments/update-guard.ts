/**
 * Server-side authorisation of Yjs updates that touch comments.
 *
 * A CRDT client can send any update, so the server reads every incoming update before Hocuspocus
 * applies, logs or broadcasts it, and refuses the whole update when one part of it is not allowed.
 * The check is on the update's own structs plus lookups into the server's document; nothing is
 * cloned or applied, so typing costs one decode and a few binary searches per item.
 *
 * Where an item lands is predicted as Yjs integrates it (update-placement.ts): parent and map key
 * from the left origin, else the right one; GC next to a GC struct. An update that Yjs could not
 * integrate at once — an origin, right origin or parent ID the server does not have and the update
 * does not bring, a gap in a client's clocks, a delete range beyond the state — is refused for
 * everyone as UNPLACEABLE ("update_dependencies_missing"): Yjs would park it and place it later next
 * to ids that someone else writes, unjudged. The caller closes the socket with "try again later";
 * a client that really has the missing ids resends them with its edit in its reconnect sync.
 *
 * The rules for comment-root values are in comment-rules.ts, judged against the key's *current* value
 * on the server (comment-roots.ts), not against the item's origin: an origin-less value could
 * otherwise win the key by Yjs' conflict ordering. Anything else — outside the comment roots, any
 * nested type, any GC — is document content and needs room:write. Deletions in the update's delete
 * set are looked up in the server's store and judged as removals of what they delete.
 * New structs under a Yjs client id another user already writes with in this document are refused
 * (ownerOf): they would pre-empt that user's future edits.
 */
import * as Y from "yjs";
import { COMMENTS, REACTIONS, THREADS } from "../../../protocol/comment-schema.ts";
import { Refused, checkCommentRootItem, checkRemoval, type RuleContext, type RuleWriter } from "./comment-rules.ts";
import { CommentRoots } from "./comment-roots.ts";
import { UNPLACEABLE, UnplaceableUpdate, UpdatePlacement, binarySearch, type Struct } from "./update-placement.ts";

export { UNPLACEABLE };

export interface UpdateWriter extends RuleWriter {
  /**
   * The user a Yjs client id belongs to in this document, if known (the extension answers from the
   * ids each connection announces in awareness, which presence gives one owner). New
   * structs under another user's client id are refused: they would squat that user's clock range, and the server
   * would then drop that user's own later edits as "already known".
   */
  ownerOf?: (clientId: number) => string | undefined;
}

export type GuardVerdict =
  | { ok: true; touchesContent: boolean; touchesComments: boolean }
  | { ok: false; reason: string; message: string };

/** Check one client update against the server's copy of the document; never throws for bad input. */
export function checkUpdate(doc: Y.Doc, update: Uint8Array, writer: UpdateWriter): GuardVerdict {
  try {
    return new UpdateCheck(doc, update, writer).run();
  } catch (error) {
    if (error instanceof Refused || error instanceof UnplaceableUpdate) return { ok: false, reason: error.reason, message: error.message };
    return { ok: false, reason: "invalid_update", message: "The update could not be read" };
  }
}

class UpdateCheck {
  private readonly doc: Y.Doc;
  private readonly writer: UpdateWriter;
  private readonly roots: CommentRoots;
  private readonly placement: UpdatePlacement;
  private readonly rules: RuleContext;
  /** Keys this update writes, per comment root. */
  private readonly written = new Map<string, Set<string>>([[THREADS, new Set()], [COMMENTS, new Set()], [REACTIONS, new Set()]]);
  private touchesContent = false;
  private touchesComments = false;

  constructor(doc: Y.Doc, update: Uint8Array, writer: UpdateWriter) {
    this.doc = doc;
    this.writer = writer;
    // Before the placement, which keys on the roots' type objects (see comment-roots.ts).
    this.roots = new CommentRoots(doc);
    this.placement = new UpdatePlacement(doc, update);
    this.rules = {
      writer,
      current: (root, key) => this.roots.current(root, key),
      exists: (root, key) => this.written.get(root)!.has(key) || this.roots.current(root, key) !== undefined,
    };
  }

  run(): GuardVerdict {
    const placement = this.placement;
    for (const s of placement.structs) {
      if (s instanceof Y.Skip || placement.isKnown(s)) continue;
      const owner = this.writer.ownerOf?.(s.id.client);
      if (owner !== undefined && owner !== this.writer.userId) throw new Refused("client_id_taken", "This Yjs client id belongs to another user");
    }
    // Only what Yjs integrates now can be judged (update-placement.ts): nothing may stay pending.
    const fresh = placement.place();
    for (const [client, ranges] of placement.ds.clients) {
      const after = placement.stateAfter(client);
      for (const range of ranges) {
        if (range.clock + range.len > after) throw new Refused(UNPLACEABLE, "The update deletes ids the server does not have");
      }
    }
    for (const { where } of fresh) {
      // A new GC range joins no type but takes its ids, and an item next to a GC struct becomes one:
      // only comment roots never produce one (their values are deleted in place, not collected).
      if (where.root === null) this.content();
      else if (where.key !== null) this.written.get(where.root)!.add(where.key);
    }
    for (const { struct, where } of fresh) {
      if (where.root === null) continue;
      this.touchesComments = true;
      checkCommentRootItem(this.rules, struct as Y.Item, where.root, where.key);
    }
    this.checkDeletions();
    return { ok: true, touchesContent: this.touchesContent, touchesComments: this.touchesComments };
  }

  private content(): void {
    this.touchesContent = true;
    if (!this.writer.canWrite) {
      throw new Refused("document_write_forbidden", "This connection may comment but not change the document");
    }
  }

  /** Deletions of ids the server has (the rest are this update's own new structs, see run). */
  private checkDeletions(): void {
    const store = this.doc.store;
    for (const [client, ranges] of this.placement.ds.clients) {
      const serverStructs = store.clients.get(client) as Struct[] | undefined;
      const state = this.placement.serverState(client);
      if (!serverStructs) continue;
      for (const range of ranges) {
        if (range.clock >= state) continue;
        const end = range.clock + range.len;
        let i = binarySearch(serverStructs, null, range.clock);
        for (; i >= 0 && i < serverStructs.length; i++) {
          const s = serverStructs[i]!;
          if (s.id.clock >= end) break;
          if (!(s instanceof Y.Item) || s.deleted) continue;
          const where = this.placement.locateKnown(s);
          if (where.root === null) {
            this.content();
            continue;
          }
          this.touchesComments = true;
          if (where.key === null) throw new Refused("comment_schema_invalid", `${where.root} is a map; values are removed by key`);
          // A key this update also writes is an overwrite, checked against the current value above.
          if (this.written.get(where.root)!.has(where.key)) continue;
          checkRemoval(this.writer, where.root, where.key, s.content.getContent()[0]);
        }
      }
    }
  }
}
