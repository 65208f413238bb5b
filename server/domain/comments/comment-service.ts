/**
 * Server-side comment reads and writes (REST, the team's backend). Writes go into the same room
 * document as clients' writes, through `RoomDocuments` (Hocuspocus direct connections, so the
 * persistence, Redis fan-out and comment-event hooks all run), after the rules of update-guard.ts
 * are applied here: the acting user is the author of what they create, only an author edits or
 * deletes a comment, reactions are the user's own. The caller is the organisation's backend (an
 * API key), which counts as a room writer: it may resolve and delete any thread.
 */
import { randomUUID } from "node:crypto";
import * as Y from "yjs";
import { BadRequestError, ForbiddenError, NotFoundError } from "../../errors.ts";
import {
  COMMENTS,
  REACTIONS,
  THREADS,
  commentProblem,
  parseReactionKey,
  reactionKey,
  threadProblem,
  type CommentValue,
  type Metadata,
  type ThreadAnchor,
  type ThreadValue,
} from "../../../protocol/comment-schema.ts";

export interface RoomDocuments {
  /** Run `fn` in one transaction on the room's live document; resolves once the change is durable. */
  transact<T>(orgId: string, roomId: string, fn: (doc: Y.Doc) => T): Promise<T>;
  /** Read the room's current document. */
  read<T>(orgId: string, roomId: string, fn: (doc: Y.Doc) => T): Promise<T>;
}

export interface ReactionView {
  emoji: string;
  users: string[];
}

export interface CommentView extends CommentValue {
  reactions: ReactionView[];
}

export interface ThreadView extends ThreadValue {
  comments: CommentView[];
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, "")}`;
}

export class CommentService {
  private readonly docs: RoomDocuments;
  private readonly now: () => number;

  constructor(docs: RoomDocuments, now: () => number = Date.now) {
    this.docs = docs;
    this.now = now;
  }

  async listThreads(orgId: string, roomId: string, filter: { resolved?: boolean; author?: string } = {}): Promise<ThreadView[]> {
    return this.docs.read(orgId, roomId, (doc) => {
      const views = threadViews(doc);
      return views.filter(
        (t) => (filter.resolved === undefined || t.resolved === filter.resolved) && (filter.author === undefined || t.createdBy === filter.author || t.comments.some((c) => c.authorId === filter.author)),
      );
    });
  }

  async getThread(orgId: string, roomId: string, threadId: string): Promise<ThreadView> {
    const thread = await this.docs.read(orgId, roomId, (doc) => threadViews(doc).find((t) => t.id === threadId));
    if (!thread) throw new NotFoundError("Thread not found", "thread_not_found");
    return thread;
  }

  async createThread(orgId: string, roomId: string, input: { userId: string; body: string; anchor?: ThreadAnchor | null; metadata?: Metadata; threadId?: string; commentId?: string }): Promise<ThreadView> {
    const at = this.now();
    const thread: ThreadValue = {
      id: input.threadId ?? newId("th"),
      createdBy: input.userId,
      createdAt: at,
      anchor: input.anchor ?? null,
      resolved: false,
      resolvedBy: null,
      resolvedAt: null,
      metadata: input.metadata ?? {},
    };
    const comment = this.newComment(thread.id, null, input.userId, input.body, at, input.commentId);
    check(threadProblem(thread.id, thread));
    check(commentProblem(comment.id, comment));
    await this.docs.transact(orgId, roomId, (doc) => {
      if (doc.getMap(THREADS).has(thread.id)) throw new BadRequestError("A thread with this id exists", "thread_exists");
      doc.getMap(THREADS).set(thread.id, thread);
      doc.getMap(COMMENTS).set(comment.id, comment);
    });
    return { ...thread, comments: [{ ...comment, reactions: [] }] };
  }

  async addComment(orgId: string, roomId: string, threadId: string, input: { userId: string; body: string; parentId?: string | null; commentId?: string }): Promise<CommentView> {
    const comment = this.newComment(threadId, input.parentId ?? null, input.userId, input.body, this.now(), input.commentId);
    check(commentProblem(comment.id, comment));
    await this.docs.transact(orgId, roomId, (doc) => {
      if (!doc.getMap(THREADS).has(threadId)) throw new NotFoundError("Thread not found", "thread_not_found");
      if (comment.parentId && !doc.getMap(COMMENTS).has(comment.parentId)) throw new NotFoundError("Parent comment not found", "comment_not_found");
      if (doc.getMap(COMMENTS).has(comment.id)) throw new BadRequestError("A comment with this id exists", "comment_exists");
      doc.getMap(COMMENTS).set(comment.id, comment);
    });
    return { ...comment, reactions: [] };
  }

  async editComment(orgId: string, roomId: string, threadId: string, commentId: string, input: { userId: string; body: string; mentions?: string[] }): Promise<CommentView> {
    return this.docs.transact(orgId, roomId, (doc) => {
      const current = ownComment(doc, threadId, commentId, input.userId);
      if (current.deletedAt !== null) throw new NotFoundError("Comment not found", "comment_not_found");
      const next: CommentValue = { ...current, body: input.body, mentions: input.mentions ?? current.mentions, editedAt: this.now() };
      check(commentProblem(commentId, next));
      doc.getMap(COMMENTS).set(commentId, next);
      return { ...next, reactions: reactionsOf(doc, commentId) };
    });
  }

  /** Soft deletion: the comment stays (so replies keep their parent) with an empty body. */
  async deleteComment(orgId: string, roomId: string, threadId: string, commentId: string, input: { userId: string }): Promise<void> {
    await this.docs.transact(orgId, roomId, (doc) => {
      const current = ownComment(doc, threadId, commentId, input.userId);
      if (current.deletedAt !== null) return;
      doc.getMap(COMMENTS).set(commentId, { ...current, body: "", mentions: [], deletedAt: this.now() });
    });
  }

  async setResolved(orgId: string, roomId: string, threadId: string, input: { userId: string; resolved: boolean }): Promise<ThreadValue> {
    return this.docs.transact(orgId, roomId, (doc) => {
      const current = doc.getMap(THREADS).get(threadId) as ThreadValue | undefined;
      if (!current) throw new NotFoundError("Thread not found", "thread_not_found");
      if (current.resolved === input.resolved) return current;
      const at = this.now();
      const next: ThreadValue = input.resolved
        ? { ...current, resolved: true, resolvedBy: input.userId, resolvedAt: at }
        : { ...current, resolved: false, resolvedBy: null, resolvedAt: null };
      doc.getMap(THREADS).set(threadId, next);
      return next;
    });
  }

  /** Remove a thread with its comments and their reactions. */
  async deleteThread(orgId: string, roomId: string, threadId: string): Promise<void> {
    await this.docs.transact(orgId, roomId, (doc) => {
      const threads = doc.getMap(THREADS);
      if (!threads.has(threadId)) throw new NotFoundError("Thread not found", "thread_not_found");
      const comments = doc.getMap(COMMENTS);
      const doomed = new Set<string>();
      for (const [id, value] of comments) if ((value as CommentValue).threadId === threadId) doomed.add(id);
      const reactions = doc.getMap(REACTIONS);
      for (const key of [...reactions.keys()]) if (doomed.has(parseReactionKey(key)?.commentId ?? "")) reactions.delete(key);
      for (const id of doomed) comments.delete(id);
      threads.delete(threadId);
    });
  }

  async setReaction(orgId: string, roomId: string, threadId: string, commentId: string, input: { userId: string; emoji: string; on: boolean }): Promise<ReactionView[]> {
    const key = reactionKey({ commentId, emoji: input.emoji, userId: input.userId });
    if (!parseReactionKey(key) || input.emoji.includes("|") || input.emoji.length === 0) throw new BadRequestError("Invalid emoji", "invalid_emoji");
    return this.docs.transact(orgId, roomId, (doc) => {
      const comment = doc.getMap(COMMENTS).get(commentId) as CommentValue | undefined;
      if (!comment || comment.threadId !== threadId) throw new NotFoundError("Comment not found", "comment_not_found");
      const reactions = doc.getMap(REACTIONS);
      if (input.on && !reactions.has(key)) reactions.set(key, { at: this.now() });
      if (!input.on && reactions.has(key)) reactions.delete(key);
      return reactionsOf(doc, commentId);
    });
  }

  private newComment(threadId: string, parentId: string | null, userId: string, body: string, at: number, id?: string): CommentValue {
    return { id: id ?? newId("cm"), threadId, parentId, authorId: userId, body, mentions: [], createdAt: at, editedAt: null, deletedAt: null };
  }
}

function check(problem: string | null): void {
  if (problem) throw new BadRequestError(problem, "invalid_comment");
}

function ownComment(doc: Y.Doc, threadId: string, commentId: string, userId: string): CommentValue {
  const current = doc.getMap(COMMENTS).get(commentId) as CommentValue | undefined;
  if (!current || current.threadId !== threadId) throw new NotFoundError("Comment not found", "comment_not_found");
  if (current.authorId !== userId) throw new ForbiddenError("Only its author edits or deletes a comment", "comment_not_author");
  return current;
}

function reactionsOf(doc: Y.Doc, commentId: string): ReactionView[] {
  const byEmoji = new Map<string, string[]>();
  for (const key of doc.getMap(REACTIONS).keys()) {
    const r = parseReactionKey(key);
    if (!r || r.commentId !== commentId) continue;
    byEmoji.set(r.emoji, [...(byEmoji.get(r.emoji) ?? []), r.userId]);
  }
  return [...byEmoji].map(([emoji, users]) => ({ emoji, users: users.sort() }));
}

/** Every thread with its comments (oldest first) and their reactions, newest thread first. */
export function threadViews(doc: Y.Doc): ThreadView[] {
  const byThread = new Map<string, CommentView[]>();
  const reactions = new Map<string, Map<string, string[]>>();
  for (const key of doc.getMap(REACTIONS).keys()) {
    const r = parseReactionKey(key);
    if (!r) continue;
    const forComment = reactions.get(r.commentId) ?? new Map<string, string[]>();
    forComment.set(r.emoji, [...(forComment.get(r.emoji) ?? []), r.userId]);
    reactions.set(r.commentId, forComment);
  }
  for (const value of doc.getMap(COMMENTS).values()) {
    const c = value as CommentValue;
    const list = byThread.get(c.threadId) ?? [];
    list.push({ ...c, reactions: [...(reactions.get(c.id) ?? new Map<string, string[]>())].map(([emoji, users]) => ({ emoji, users: users.sort() })) });
    byThread.set(c.threadId, list);
  }
  const threads: ThreadView[] = [];
  for (const value of doc.getMap(THREADS).values()) {
    const t = value as ThreadValue;
    const comments = (byThread.get(t.id) ?? []).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    threads.push({ ...t, comments });
  }
  return threads.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
}
