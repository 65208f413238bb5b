/**
 * Comment events → notifications and activity. Mentions notify the mentioned users; replies notify
 * the thread's other participants (who were not already mentioned); a reaction notifies the
 * comment's author; a resolution notifies the participants. Nobody is notified of their own act.
 */
import type { CommentEvent } from "./comment-events.ts";
import type { NotifyInput } from "../notifications/notification-service.ts";
import type { ActivityInput } from "../activity/activity-service.ts";
import { logger } from "../../logger.ts";

export interface CommentNotifierDeps {
  notify: (input: NotifyInput) => Promise<unknown>;
  record: (input: ActivityInput) => Promise<unknown>;
}

const EXCERPT_CHARS = 200;

function excerpt(body: string): string {
  return body.length > EXCERPT_CHARS ? `${body.slice(0, EXCERPT_CHARS - 1)}…` : body;
}

/** Handle one transaction's comment events; failures are logged, never thrown at Yjs. */
export function createCommentNotifier(deps: CommentNotifierDeps): (orgId: string, roomId: string, events: CommentEvent[]) => Promise<void> {
  return async (orgId, roomId, events) => {
    const work: Promise<unknown>[] = [];
    const notify = (userIds: Iterable<string>, actor: string | null, input: Omit<NotifyInput, "orgId" | "userId" | "roomId" | "actorId">) => {
      for (const userId of new Set(userIds)) {
        if (userId === actor) continue;
        work.push(deps.notify({ ...input, orgId, roomId, userId, actorId: actor }));
      }
    };
    for (const event of events) {
      switch (event.type) {
        case "comment_created": {
          const c = event.comment;
          const data = { excerpt: excerpt(c.body) };
          work.push(deps.record({ orgId, roomId, kind: event.isReply ? "reply_created" : "comment_created", actorId: c.authorId, threadId: c.threadId, commentId: c.id, data }));
          notify(event.mentions, c.authorId, { kind: "mention", threadId: c.threadId, commentId: c.id, data });
          if (event.isReply) {
            const mentioned = new Set(event.mentions);
            notify(event.participants.filter((p) => !mentioned.has(p)), c.authorId, { kind: "reply", threadId: c.threadId, commentId: c.id, data });
          }
          break;
        }
        case "comment_edited": {
          const c = event.comment;
          notify(event.addedMentions, c.authorId, { kind: "mention", threadId: c.threadId, commentId: c.id, data: { excerpt: excerpt(c.body) } });
          break;
        }
        case "thread_resolved":
        case "thread_unresolved": {
          work.push(deps.record({ orgId, roomId, kind: event.type, actorId: event.by ?? null, threadId: event.thread.id }));
          if (event.type === "thread_resolved") notify(event.participants, event.by, { kind: "thread_resolved", threadId: event.thread.id, data: {} });
          break;
        }
        case "reaction_added": {
          work.push(deps.record({ orgId, roomId, kind: "reaction_added", actorId: event.userId, threadId: event.threadId, commentId: event.commentId, data: { emoji: event.emoji } }));
          if (event.comment) notify([event.comment.authorId], event.userId, { kind: "reaction", threadId: event.threadId, commentId: event.commentId, data: { emoji: event.emoji } });
          break;
        }
        default:
          break;
      }
    }
    const results = await Promise.allSettled(work);
    for (const r of results) {
      if (r.status === "rejected") logger.error("Could not record a comment notification or activity", { orgId, roomId, error: (r.reason as Error)?.message });
    }
  };
}
