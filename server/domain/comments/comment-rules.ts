/**
 * Who may write what in the comment roots, one rule set per root, judged value by value.
 *
 * The guard (update-guard.ts) finds where each struct of an update lands and calls these with the
 * key's new value and its current value on the server:
 * - any comment-root write needs comments:write; values are one JSON value per map key;
 * - a new thread or comment names the writer as its author; an existing comment is replaced or
 *   removed only by its author, who cannot change its id, thread, parent, author or creation time;
 * - an existing thread keeps id, author, creation time and anchor; its resolved fields and its
 *   metadata are changed by its author or a room writer, and a resolution names the resolver;
 *   a thread is removed by its author or a room writer;
 * - a reaction key ends with the reacting user's id; only that user adds or removes it.
 * A refusal is thrown as `Refused`, with the reason the client gets.
 */
import * as Y from "yjs";
import {
  COMMENTS,
  THREADS,
  commentProblem,
  parseReactionKey,
  reactionProblem,
  threadProblem,
  type CommentValue,
  type ThreadValue,
} from "../../../protocol/comment-schema.ts";

/** A refusal: `reason` is what the client is told (a close reason), `message` is for logs. */
export class Refused extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface RuleWriter {
  userId: string;
  /** room:write: may change document content, resolve any thread. */
  canWrite: boolean;
  /** comments:write (implied by room:write). */
  canWriteComments: boolean;
}

/** What the rules may look up beyond the value they judge. */
export interface RuleContext {
  writer: RuleWriter;
  /** The key's current value on the server (not the item's origin: see update-guard.ts). */
  current(root: string, key: string): unknown;
  /** Whether the key has a value in the root on the server, or gets one from the same update. */
  exists(root: string, key: string): boolean;
}

/** Judge one new map item of a comment root against the key's current value. */
export function checkCommentRootItem(context: RuleContext, item: Y.Item, root: string, key: string | null): void {
  if (!context.writer.canWriteComments) throw new Refused("comments_write_forbidden", "This connection may not write comments");
  if (key === null) throw new Refused("comment_schema_invalid", `${root} is a map; values are set by key`);
  const current = context.current(root, key);
  if (item.content instanceof Y.ContentDeleted) {
    // A map item that integrates as the rightmost value of its key deletes the value to its left,
    // so a tombstone can still displace the current value: checked as a removal of it.
    if (current !== undefined) checkRemoval(context.writer, root, key, current);
    return;
  }
  if (!(item.content instanceof Y.ContentAny) || item.content.getLength() !== 1) {
    throw new Refused("comment_schema_invalid", `${root} values must be plain JSON, one per key`);
  }
  const value = item.content.getContent()[0];
  if (root === THREADS) checkThread(context, key, value, current as ThreadValue | undefined);
  else if (root === COMMENTS) checkComment(context, key, value, current as CommentValue | undefined);
  else checkReaction(context, key, value);
}

/** Removing the current value of a key (a map delete, or a tombstone displacing it). */
export function checkRemoval(writer: RuleWriter, root: string, key: string, current: unknown): void {
  const user = writer.userId;
  if (!writer.canWriteComments) throw new Refused("comments_write_forbidden", "This connection may not write comments");
  if (root === THREADS) {
    const t = current as Partial<ThreadValue>;
    if (t.createdBy !== user && !writer.canWrite) throw new Refused("thread_not_owner", "Only the thread's author or a room writer deletes it");
  } else if (root === COMMENTS) {
    if ((current as Partial<CommentValue>).authorId !== user) throw new Refused("comment_not_author", "Only its author deletes a comment");
  } else if (parseReactionKey(key)?.userId !== user) {
    throw new Refused("reaction_forged_user", "Only the reacting user removes a reaction");
  }
}

function checkThread({ writer }: RuleContext, key: string, value: unknown, current: ThreadValue | undefined): void {
  const problem = threadProblem(key, value);
  if (problem) throw new Refused("comment_schema_invalid", problem);
  const v = value as ThreadValue;
  const user = writer.userId;
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
  const isOwner = current.createdBy === user || writer.canWrite;
  const resolutionChanged = v.resolved !== current.resolved || v.resolvedBy !== current.resolvedBy || v.resolvedAt !== current.resolvedAt;
  if (resolutionChanged && !isOwner) throw new Refused("thread_resolve_forbidden", "Only the thread's author or a room writer resolves it");
  if (JSON.stringify(v.metadata) !== JSON.stringify(current.metadata) && !isOwner) {
    throw new Refused("thread_not_owner", "Only the thread's author or a room writer changes its metadata");
  }
}

function checkComment(context: RuleContext, key: string, value: unknown, current: CommentValue | undefined): void {
  const problem = commentProblem(key, value);
  if (problem) throw new Refused("comment_schema_invalid", problem);
  const v = value as CommentValue;
  const user = context.writer.userId;
  if (!current) {
    if (v.authorId !== user) throw new Refused("comment_forged_author", "A new comment must be written by its author");
    if (!context.exists(THREADS, v.threadId)) throw new Refused("comment_thread_missing", "A comment must belong to an existing thread");
    return;
  }
  if (current.authorId !== user) throw new Refused("comment_not_author", "Only its author edits a comment");
  if (v.id !== current.id || v.threadId !== current.threadId || v.parentId !== current.parentId || v.authorId !== current.authorId || v.createdAt !== current.createdAt) {
    throw new Refused("comment_immutable_field", "A comment's id, thread, parent, author and creation time cannot change");
  }
}

function checkReaction(context: RuleContext, key: string, value: unknown): void {
  const problem = reactionProblem(key, value);
  if (problem) throw new Refused("comment_schema_invalid", problem);
  const parsed = parseReactionKey(key)!;
  if (parsed.userId !== context.writer.userId) throw new Refused("reaction_forged_user", "A reaction is always the reacting user's own");
  if (!context.exists(COMMENTS, parsed.commentId)) throw new Refused("comment_missing", "A reaction must be on an existing comment");
}
