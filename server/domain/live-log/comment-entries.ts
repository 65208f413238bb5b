/**
 * Comment writes as live log entries: one `comment` entry per comment event (created, edited,
 * deleted, thread resolved or reopened, reaction added or removed), from REST and from sockets
 * alike (both reach the comment extension's observers, on the process that took the write in).
 * The detail names the event and its ids, never the comment's text.
 */
import type { CommentEvent } from "../comments/comment-events.ts";
import type { LiveLogInput } from "./live-log.ts";

export function commentEntries(orgId: string, roomId: string, events: readonly CommentEvent[]): LiveLogInput[] {
  return events.map((event) => {
    const base = { orgId, roomId, kind: "comment" as const };
    switch (event.type) {
      case "comment_created":
      case "comment_edited":
      case "comment_deleted":
        return { ...base, userId: event.comment.authorId, detail: `${event.type} ${event.comment.threadId}/${event.comment.id}` };
      case "thread_resolved":
      case "thread_unresolved":
        return { ...base, userId: event.by ?? null, detail: `${event.type} ${event.thread.id}` };
      case "reaction_added":
      case "reaction_removed":
        return { ...base, userId: event.userId, detail: `${event.type} ${event.threadId ?? "?"}/${event.commentId}` };
    }
  });
}
