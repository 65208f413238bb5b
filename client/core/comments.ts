/**
 * Comments in the room document (docs/comments.md): three top-level Y.Maps of plain JSON values —
 * sf:threads, sf:comments, sf:reactions — that the server authorises write by write.
 *
 * Writes are optimistic: they change the local Y.Doc at once (so getThreads() shows them, marked
 * `pending`) and each action resolves with the server's verdict: when the server has acknowledged
 * every local change, or rejects with the rule the server refused (`comment_not_author`, …). The
 * server's rules are checked here first so a well-behaved app never sends a refused write; a
 * refused one closes the room's connection, and the room stops (re-enter it to sync afresh), since
 * a stock provider would resend the refused update forever.
 */
import * as Y from "yjs";
import { makeEventSource, type Observable } from "./event-source.ts";
import { SyncForgeError, type JsonObject } from "./types.ts";
import { THREADS, COMMENTS, REACTIONS, type CommentValue, type ThreadAnchor, type ThreadValue as StoredThread } from "../../protocol/comment-schema.ts";

export { THREADS, COMMENTS, REACTIONS } from "../../protocol/comment-schema.ts";
export type { ThreadAnchor } from "../../protocol/comment-schema.ts";

/** A thread as stored, with the app's metadata type. */
type ThreadValue<M> = Omit<StoredThread, "metadata"> & { metadata: M };

export interface Reaction {
  emoji: string;
  userIds: readonly string[];
}

export interface CommentData extends CommentValue {
  reactions: readonly Reaction[];
  /** Written here and not yet acknowledged by the server. */
  pending: boolean;
}

export interface ThreadData<M extends JsonObject = JsonObject> extends ThreadValue<M> {
  comments: readonly CommentData[];
  pending: boolean;
}

export interface CreateThreadInput<M> {
  body: string;
  metadata?: M;
  anchor?: ThreadAnchor | null;
  mentions?: string[];
}

const ORIGIN = { sdk: "syncforge-comments" };
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Ids that are unique without coordination: a prefix and 16 random characters of [A-Za-z0-9]. */
export function createId(prefix: "th" | "cm"): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let id = `${prefix}_`;
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return id;
}

export { isWriteRefusalReason as isWriteRefusal } from "../../protocol/close-codes.ts";

/** Anchor a thread to a range of a Y.Text (it follows concurrent edits, like selections). */
export function textAnchor(field: string, text: Y.Text, from: number, to: number): ThreadAnchor {
  return {
    text: {
      field,
      start: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, from)),
      end: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, to)),
    },
  };
}

export interface CommentsHost {
  doc: Y.Doc;
  /** Who I am (the token's user) and whether I may change the document (room:write). */
  me(): { userId: string; canWrite: boolean; canWriteComments: boolean } | null;
  /** Resolves when the server acknowledged every local change; rejects when it refused one. */
  verdict(): Promise<void>;
  hasUnsyncedChanges(): boolean;
  onAcknowledged(callback: () => void): () => void;
}

export class CommentsStore<M extends JsonObject = JsonObject> {
  private readonly host: CommentsHost;
  private readonly threads: Y.Map<ThreadValue<M>>;
  private readonly comments: Y.Map<CommentValue>;
  private readonly reactions: Y.Map<{ at: number }>;
  private readonly events = makeEventSource<readonly ThreadData<M>[]>();
  private readonly pendingIds = new Set<string>();
  private snapshot: readonly ThreadData<M>[] = [];
  private readonly cache = new Map<string, ThreadData<M>>();
  private readonly offAck: () => void;
  readonly changes: Observable<readonly ThreadData<M>[]>;

  constructor(host: CommentsHost) {
    this.host = host;
    this.threads = host.doc.getMap(THREADS);
    this.comments = host.doc.getMap(COMMENTS);
    this.reactions = host.doc.getMap(REACTIONS);
    this.changes = this.events.observable;
    for (const map of [this.threads, this.comments, this.reactions] as Y.Map<unknown>[]) map.observe(this.recompute);
    this.offAck = host.onAcknowledged(() => {
      if (this.pendingIds.size === 0) return;
      this.pendingIds.clear();
      this.recompute();
    });
    this.recompute();
  }

  /** Every thread with its comments (oldest first) and reactions; the same array until one changes. */
  getThreads(): readonly ThreadData<M>[] {
    return this.snapshot;
  }

  getThread(threadId: string): ThreadData<M> | null {
    return this.snapshot.find((t) => t.id === threadId) ?? null;
  }

  async createThread(input: CreateThreadInput<M>): Promise<ThreadData<M>> {
    const me = this.requireMe();
    const now = Date.now();
    const thread: ThreadValue<M> = {
      id: createId("th"),
      createdBy: me.userId,
      createdAt: now,
      anchor: input.anchor ?? null,
      resolved: false,
      resolvedBy: null,
      resolvedAt: null,
      metadata: (input.metadata ?? {}) as M,
    };
    const comment = this.newComment(me.userId, thread.id, null, input.body, input.mentions, now);
    this.write([thread.id, comment.id], () => {
      this.threads.set(thread.id, thread);
      this.comments.set(comment.id, comment);
    });
    const created = this.getThread(thread.id)!;
    await this.host.verdict();
    return created;
  }

  /** Reply in a thread (parentId answers one comment, for nested replies). */
  async createComment(threadId: string, body: string, options: { parentId?: string; mentions?: string[] } = {}): Promise<CommentData> {
    const me = this.requireMe();
    if (!this.threads.has(threadId)) throw new SyncForgeError("comment_thread_missing", "A comment must belong to an existing thread");
    const comment = this.newComment(me.userId, threadId, options.parentId ?? null, body, options.mentions, Date.now());
    this.write([comment.id], () => this.comments.set(comment.id, comment));
    const created = this.findComment(comment.id)!;
    await this.host.verdict();
    return created;
  }

  async editComment(commentId: string, body: string, mentions?: string[]): Promise<void> {
    const current = this.ownComment(commentId);
    this.write([commentId], () =>
      this.comments.set(commentId, { ...current, body, mentions: mentions ?? current.mentions, editedAt: Date.now() }),
    );
    await this.host.verdict();
  }

  /** Soft delete: the comment stays (for replies) with an empty body and deletedAt. */
  async deleteComment(commentId: string): Promise<void> {
    const current = this.ownComment(commentId);
    this.write([commentId], () => this.comments.set(commentId, { ...current, body: "", mentions: [], deletedAt: Date.now() }));
    await this.host.verdict();
  }

  /** Delete a whole thread (its creator, or a room writer). */
  async deleteThread(threadId: string): Promise<void> {
    const thread = this.ownedThread(threadId);
    this.write([threadId], () => {
      this.threads.delete(thread.id);
    });
    await this.host.verdict();
  }

  async setResolved(threadId: string, resolved: boolean): Promise<void> {
    const thread = this.ownedThread(threadId, "thread_resolve_forbidden");
    const me = this.requireMe();
    const next: ThreadValue<M> = resolved
      ? { ...thread, resolved: true, resolvedBy: me.userId, resolvedAt: Date.now() }
      : { ...thread, resolved: false, resolvedBy: null, resolvedAt: null };
    this.write([threadId], () => this.threads.set(threadId, next));
    await this.host.verdict();
  }

  async updateThreadMetadata(threadId: string, metadata: Partial<M>): Promise<void> {
    const thread = this.ownedThread(threadId);
    this.write([threadId], () => this.threads.set(threadId, { ...thread, metadata: { ...thread.metadata, ...metadata } }));
    await this.host.verdict();
  }

  async addReaction(commentId: string, emoji: string): Promise<void> {
    const me = this.requireMe();
    if (!this.comments.has(commentId)) throw new SyncForgeError("comment_missing", "A reaction must be on an existing comment");
    if (emoji.includes("|") || emoji.length === 0 || emoji.length > 32) throw new SyncForgeError("comment_schema_invalid", "Invalid emoji");
    this.write([commentId], () => this.reactions.set(`${commentId}|${emoji}|${me.userId}`, { at: Date.now() }));
    await this.host.verdict();
  }

  async removeReaction(commentId: string, emoji: string): Promise<void> {
    const me = this.requireMe();
    const key = `${commentId}|${emoji}|${me.userId}`;
    if (!this.reactions.has(key)) return;
    this.write([commentId], () => this.reactions.delete(key));
    await this.host.verdict();
  }

  destroy(): void {
    for (const map of [this.threads, this.comments, this.reactions] as Y.Map<unknown>[]) map.unobserve(this.recompute);
    this.offAck();
    this.events.clear();
  }

  private write(ids: string[], change: () => void): void {
    for (const id of ids) this.pendingIds.add(id);
    this.host.doc.transact(change, ORIGIN);
  }

  private requireMe(): { userId: string; canWrite: boolean } {
    const me = this.host.me();
    if (!me) throw new SyncForgeError("not_connected", "Comments are written once the room knows who you are (after connecting)");
    if (!me.canWriteComments) throw new SyncForgeError("comments_write_forbidden", "This token may not write comments (comments:write or room:write)");
    return me;
  }

  private newComment(authorId: string, threadId: string, parentId: string | null, body: string, mentions: string[] = [], now: number): CommentValue {
    if (body.length > 10_000) throw new SyncForgeError("comment_schema_invalid", "A comment body is at most 10000 characters");
    if (parentId !== null && !ID.test(parentId)) throw new SyncForgeError("comment_schema_invalid", "invalid parentId");
    return { id: createId("cm"), threadId, parentId, authorId, body, mentions, createdAt: now, editedAt: null, deletedAt: null };
  }

  private ownComment(commentId: string): CommentValue {
    const current = this.comments.get(commentId);
    if (!current) throw new SyncForgeError("comment_missing", `No comment ${commentId}`);
    if (current.authorId !== this.requireMe().userId) throw new SyncForgeError("comment_not_author", "Only its author edits or deletes a comment");
    return current;
  }

  private ownedThread(threadId: string, code = "thread_not_owner"): ThreadValue<M> {
    const thread = this.threads.get(threadId);
    if (!thread) throw new SyncForgeError("thread_missing", `No thread ${threadId}`);
    const me = this.requireMe();
    if (thread.createdBy !== me.userId && !me.canWrite) throw new SyncForgeError(code, "Only the thread's author or a room writer does this");
    return thread;
  }

  private findComment(commentId: string): CommentData | null {
    for (const t of this.snapshot) for (const c of t.comments) if (c.id === commentId) return c;
    return null;
  }

  private readonly recompute = (): void => {
    const byThread = new Map<string, CommentData[]>();
    const reactionsByComment = new Map<string, Map<string, string[]>>();
    for (const key of this.reactions.keys()) {
      const [commentId, emoji, ...rest] = key.split("|");
      if (!commentId || !emoji || rest.length === 0) continue;
      const perEmoji = reactionsByComment.get(commentId) ?? new Map<string, string[]>();
      perEmoji.set(emoji, [...(perEmoji.get(emoji) ?? []), rest.join("|")].sort());
      reactionsByComment.set(commentId, perEmoji);
    }
    for (const comment of this.comments.values()) {
      if (!comment || typeof comment !== "object") continue;
      const reactions = [...(reactionsByComment.get(comment.id) ?? new Map()).entries()]
        .map(([emoji, userIds]) => ({ emoji, userIds }))
        .sort((a, b) => (a.emoji < b.emoji ? -1 : 1));
      const list = byThread.get(comment.threadId) ?? [];
      list.push({ ...comment, reactions, pending: this.pendingIds.has(comment.id) });
      byThread.set(comment.threadId, list);
    }
    const next: ThreadData<M>[] = [];
    for (const thread of this.threads.values()) {
      if (!thread || typeof thread !== "object") continue;
      const comments = (byThread.get(thread.id) ?? []).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      const data: ThreadData<M> = { ...thread, comments, pending: this.pendingIds.has(thread.id) || comments.some((c) => c.pending) };
      // Structural sharing: an unchanged thread keeps its object, so memoised rows do not re-render.
      const cached = this.cache.get(thread.id);
      next.push(cached && JSON.stringify(cached) === JSON.stringify(data) ? cached : data);
    }
    next.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    this.cache.clear();
    for (const t of next) this.cache.set(t.id, t);
    if (next.length === this.snapshot.length && next.every((t, i) => t === this.snapshot[i])) return;
    this.snapshot = Object.freeze(next);
    this.events.notify(this.snapshot);
  };
}
