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
 * The rules (COMMENT_ROOTS are top-level maps of plain JSON values, see schema.ts):
 * - content (anything outside the comment roots, any nested type, any GC): needs room:write;
 * - any comment-root write needs comments:write; values must be one JSON value per map key;
 * - a new thread or comment names the writer as its author; an existing comment is replaced or
 *   removed only by its author, who cannot change its id, thread, parent, author or creation time;
 * - an existing thread keeps id, author, creation time and anchor; its resolved fields and its
 *   metadata are changed by its author or a room writer, and a resolution names the resolver;
 *   a thread is removed by its author or a room writer;
 * - a reaction key ends with the reacting user's id; only that user adds or removes it.
 * A map item that integrates as the rightmost value of its key deletes the value to its left, so
 * tombstones (ContentDeleted) in a comment root are checked like values: ownership of the current one.
 * New structs under a Yjs client id another user already writes with in this document are refused
 * (ownerOf): they would pre-empt that user's future edits.
 */
import * as Y from "yjs";
import {
  COMMENTS,
  REACTIONS,
  THREADS,
  commentProblem,
  parseReactionKey,
  reactionProblem,
  threadProblem,
  type CommentValue,
  type ThreadValue,
} from "../../../protocol/comment-schema.ts";
import { UNPLACEABLE, UnplaceableUpdate, UpdatePlacement, binarySearch, type Struct } from "./update-placement.ts";

export { UNPLACEABLE };

export interface UpdateWriter {
  userId: string;
  /** room:write: may change document content, resolve any thread. */
  canWrite: boolean;
  /** comments:write (implied by room:write). */
  canWriteComments: boolean;
  /**
   * The user a Yjs client id belongs to in this document, if known (the extension answers from the
   * ids each connection announces in awareness, which the awareness gate gives one owner). New
   * structs under another user's client id are refused: they would squat that user's clock range, and the server
   * would then drop that user's own later edits as "already known".
   */
  ownerOf?: (clientId: number) => string | undefined;
}

export type GuardVerdict =
  | { ok: true; touchesContent: boolean; touchesComments: boolean }
  | { ok: false; reason: string; message: string };

type AnyType = Y.AbstractType<unknown>;

class Refused extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

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
  private readonly placement: UpdatePlacement;
  /** Keys this update writes, per comment root. */
  private readonly written = new Map<string, Set<string>>([[THREADS, new Set()], [COMMENTS, new Set()], [REACTIONS, new Set()]]);
  private touchesContent = false;
  private touchesComments = false;

  constructor(doc: Y.Doc, update: Uint8Array, writer: UpdateWriter) {
    this.doc = doc;
    this.writer = writer;
    this.placement = new UpdatePlacement(doc, update);
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
      if (where.root !== null) this.checkWrite(struct as Y.Item, where.root, where.key);
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

  private currentValue(root: string, key: string): unknown {
    const type = this.doc.share.get(root) as AnyType | undefined;
    const item = type?._map.get(key);
    if (!item || item.deleted) return undefined;
    return item.content.getContent()[0];
  }

  private checkWrite(item: Y.Item, root: string, key: string | null): void {
    this.touchesComments = true;
    if (!this.writer.canWriteComments) throw new Refused("comments_write_forbidden", "This connection may not write comments");
    if (key === null) throw new Refused("comment_schema_invalid", `${root} is a map; values are set by key`);
    const current = this.currentValue(root, key);
    if (item.content instanceof Y.ContentDeleted) {
      // A tombstone can still displace the current value of its key (see the file comment).
      if (current !== undefined) this.checkRemoval(root, key, current);
      return;
    }
    if (!(item.content instanceof Y.ContentAny) || item.content.getLength() !== 1) {
      throw new Refused("comment_schema_invalid", `${root} values must be plain JSON, one per key`);
    }
    const value = item.content.getContent()[0];
    if (root === THREADS) this.checkThread(key, value, current as ThreadValue | undefined);
    else if (root === COMMENTS) this.checkComment(key, value, current as CommentValue | undefined);
    else this.checkReaction(key, value);
  }

  private checkThread(key: string, value: unknown, current: ThreadValue | undefined): void {
    const problem = threadProblem(key, value);
    if (problem) throw new Refused("comment_schema_invalid", problem);
    const v = value as ThreadValue;
    const user = this.writer.userId;
    if (v.resolved && v.resolvedBy !== user && !(current?.resolved && current.resolvedBy === v.resolvedBy && current.resolvedAt === v.resolvedAt)) {
      throw new Refused("thread_resolve_forbidden", "A thread is resolved in the resolver's own name");
    }
    if (!current) {
      if (v.createdBy !== user) throw new Refused("thread_forged_author", "A new thread must be created by the writer");
      return;
    }
    if (v.id !== current.id || v.createdBy !== current.createdBy || v.createdAt !== current.createdAt || JSON.stringify(v.anchor ?? null) !== JSON.stringify(current.anchor ?? null)) {
      throw new Refused("thread_immutable_field", "A thread's id, author, creation time and anchor cannot change");
    }
    const isOwner = current.createdBy === user || this.writer.canWrite;
    const resolutionChanged = v.resolved !== current.resolved || v.resolvedBy !== current.resolvedBy || v.resolvedAt !== current.resolvedAt;
    if (resolutionChanged && !isOwner) throw new Refused("thread_resolve_forbidden", "Only the thread's author or a room writer resolves it");
    if (JSON.stringify(v.metadata) !== JSON.stringify(current.metadata) && !isOwner) {
      throw new Refused("thread_not_owner", "Only the thread's author or a room writer changes its metadata");
    }
  }

  private checkComment(key: string, value: unknown, current: CommentValue | undefined): void {
    const problem = commentProblem(key, value);
    if (problem) throw new Refused("comment_schema_invalid", problem);
    const v = value as CommentValue;
    const user = this.writer.userId;
    if (!current) {
      if (v.authorId !== user) throw new Refused("comment_forged_author", "A new comment must be written by its author");
      if (this.currentValue(THREADS, v.threadId) === undefined && !this.written.get(THREADS)!.has(v.threadId)) {
        throw new Refused("comment_thread_missing", "A comment must belong to an existing thread");
      }
      return;
    }
    if (current.authorId !== user) throw new Refused("comment_not_author", "Only its author edits a comment");
    if (v.id !== current.id || v.threadId !== current.threadId || v.parentId !== current.parentId || v.authorId !== current.authorId || v.createdAt !== current.createdAt) {
      throw new Refused("comment_immutable_field", "A comment's id, thread, parent, author and creation time cannot change");
    }
  }

  private checkReaction(key: string, value: unknown): void {
    const problem = reactionProblem(key, value);
    if (problem) throw new Refused("comment_schema_invalid", problem);
    const parsed = parseReactionKey(key)!;
    if (parsed.userId !== this.writer.userId) throw new Refused("reaction_forged_user", "A reaction is always the reacting user's own");
    if (this.currentValue(COMMENTS, parsed.commentId) === undefined && !this.written.get(COMMENTS)!.has(parsed.commentId)) {
      throw new Refused("comment_missing", "A reaction must be on an existing comment");
    }
  }

  /** Removing the current value of a key (a map delete, or a tombstone displacing it). */
  private checkRemoval(root: string, key: string, current: unknown): void {
    const user = this.writer.userId;
    if (!this.writer.canWriteComments) throw new Refused("comments_write_forbidden", "This connection may not write comments");
    if (root === THREADS) {
      const t = current as Partial<ThreadValue>;
      if (t.createdBy !== user && !this.writer.canWrite) throw new Refused("thread_not_owner", "Only the thread's author or a room writer deletes it");
    } else if (root === COMMENTS) {
      if ((current as Partial<CommentValue>).authorId !== user) throw new Refused("comment_not_author", "Only its author deletes a comment");
    } else if (parseReactionKey(key)?.userId !== user) {
      throw new Refused("reaction_forged_user", "Only the reacting user removes a reaction");
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
          this.checkRemoval(where.root, where.key, s.content.getContent()[0]);
        }
      }
    }
  }
}
