/**
 * What a change to the comment maps means: created comments and replies (with who they mention and
 * who takes part in the thread), edits that add mentions, soft deletions, resolutions, reactions.
 * Derived from the values themselves: the update guard has already made sure that authors,
 * resolvers and reacting users are the users who wrote them.
 */
import type * as Y from "yjs";
import { COMMENTS, REACTIONS, THREADS, mentionsOf, parseReactionKey, type CommentValue, type ThreadValue } from "../../../protocol/comment-schema.ts";

export type CommentEvent =
  | { type: "comment_created"; comment: CommentValue; thread: ThreadValue | null; isReply: boolean; mentions: string[]; participants: string[] }
  | { type: "comment_edited"; comment: CommentValue; addedMentions: string[]; thread: ThreadValue | null }
  | { type: "comment_deleted"; comment: CommentValue }
  | { type: "thread_resolved" | "thread_unresolved"; thread: ThreadValue; participants: string[]; by: string | null }
  | { type: "reaction_added" | "reaction_removed"; commentId: string; emoji: string; userId: string; comment: CommentValue | null; threadId: string | null };

export interface CommentMaps {
  threads: Y.Map<unknown>;
  comments: Y.Map<unknown>;
  reactions: Y.Map<unknown>;
}

type KeyChanges = Map<string, { action: "add" | "update" | "delete"; oldValue: unknown }>;

/** The events one root's key changes amount to; maps hold the state after the change. */
export function diffCommentMaps(root: string, changes: KeyChanges, maps: CommentMaps): CommentEvent[] {
  const events: CommentEvent[] = [];
  for (const [key, change] of changes) {
    if (root === THREADS) {
      const now = maps.threads.get(key) as ThreadValue | undefined;
      const before = change.oldValue as ThreadValue | undefined;
      if (!now || !before || now.resolved === before.resolved) continue;
      events.push({
        type: now.resolved ? "thread_resolved" : "thread_unresolved",
        thread: now,
        participants: participantsOf(maps, now.id, now),
        by: now.resolved ? now.resolvedBy : null,
      });
    } else if (root === COMMENTS) {
      const now = maps.comments.get(key) as CommentValue | undefined;
      const before = change.oldValue as CommentValue | undefined;
      if (!now) continue;
      const thread = (maps.threads.get(now.threadId) as ThreadValue | undefined) ?? null;
      if (change.action === "add") {
        const others = [...maps.comments.values()].some((c) => (c as CommentValue).threadId === now.threadId && (c as CommentValue).id !== now.id && (c as CommentValue).createdAt <= now.createdAt);
        events.push({
          type: "comment_created",
          comment: now,
          thread,
          isReply: now.parentId !== null || others,
          mentions: mentionsOf(now),
          participants: participantsOf(maps, now.threadId, thread, now.id),
        });
      } else if (before) {
        if (now.deletedAt !== null && before.deletedAt === null) {
          events.push({ type: "comment_deleted", comment: now });
          continue;
        }
        const had = new Set(mentionsOf(before));
        const added = mentionsOf(now).filter((m) => !had.has(m));
        events.push({ type: "comment_edited", comment: now, addedMentions: added, thread });
      }
    } else if (root === REACTIONS) {
      const parsed = parseReactionKey(key);
      if (!parsed || change.action === "update") continue;
      const comment = (maps.comments.get(parsed.commentId) as CommentValue | undefined) ?? null;
      events.push({
        type: change.action === "add" ? "reaction_added" : "reaction_removed",
        ...parsed,
        comment,
        threadId: comment?.threadId ?? null,
      });
    }
  }
  return events;
}

/** Thread author plus authors of its live comments (except `exceptComment`), in first-seen order. */
function participantsOf(maps: CommentMaps, threadId: string, thread: ThreadValue | null, exceptComment?: string): string[] {
  const found = new Set<string>();
  if (thread) found.add(thread.createdBy);
  for (const value of maps.comments.values()) {
    const c = value as CommentValue;
    if (c.threadId === threadId && c.id !== exceptComment && c.deletedAt === null) found.add(c.authorId);
  }
  return [...found];
}
