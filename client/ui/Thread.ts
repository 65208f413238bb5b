/**
 * One thread: its comments (author, time, body with highlighted @mentions, "edited", deleted),
 * reactions as toggle buttons plus an emoji picker, edit and delete for one's own comments,
 * resolve/reopen, and a reply composer. Controls the server would refuse are not shown
 * (comment-rules.ts); the actions are the room's (useThreads) unless given.
 */
import { createElement as h, useState, type ReactElement, type ReactNode } from "react";
import { commentRulesFor, type CommentData, type CommentRules, type ThreadData } from "../core/index.ts";
import { useMyAccess, useThreads } from "../react/index.ts";
import { Avatar, formatTime, toUserView, useRoomUsers, type ResolveUser, type UserView } from "./shared.ts";
import { Composer } from "./Composer.ts";
import { EmojiPicker } from "./EmojiPicker.ts";

export interface ThreadActionsLike {
  createComment(threadId: string, body: string, options?: { mentions?: string[] }): Promise<unknown>;
  editComment(commentId: string, body: string, mentions?: string[]): Promise<void>;
  deleteComment(commentId: string): Promise<void>;
  markThreadAsResolved(threadId: string): Promise<void>;
  markThreadAsUnresolved(threadId: string): Promise<void>;
  addReaction(commentId: string, emoji: string): Promise<void>;
  removeReaction(commentId: string, emoji: string): Promise<void>;
}

export interface ThreadViewProps {
  thread: ThreadData;
  me: string | null;
  rules: CommentRules;
  actions: ThreadActionsLike;
  resolveUser?: ResolveUser;
  users?: readonly UserView[];
  /** Clicked the thread's header (anchored threads: scroll to the anchor). */
  onSelect?: (thread: ThreadData) => void;
  selected?: boolean;
}

/** Body text with "@id" of known users as highlighted mentions. */
export function renderBody(body: string, resolve: ResolveUser): ReactNode[] {
  return body.split(/(@[^\s@.,!?;:]+)/).map((part, i) =>
    part.startsWith("@") && part.length > 1 ? h("span", { key: i, className: "sf-mention" }, `@${resolve(part.slice(1)).name}`) : part,
  );
}

function CommentView({ comment, me, rules, actions, resolveUser, users }: { comment: CommentData; me: string | null; rules: CommentRules; actions: ThreadActionsLike; resolveUser: ResolveUser; users: readonly UserView[] }): ReactElement {
  const [editing, setEditing] = useState(false);
  const author = resolveUser(comment.authorId);
  const deleted = comment.deletedAt !== null;
  const canEdit = rules.canEditComment(comment);
  return h(
    "li",
    { className: "sf-comment", "data-comment-id": comment.id, "aria-label": `Comment by ${author.name}` },
    h(
      "div",
      { className: "sf-comment-header" },
      h(Avatar, { user: author, size: 24 }),
      h("span", { className: "sf-comment-author" }, author.name),
      h("time", { className: "sf-comment-time", dateTime: new Date(comment.createdAt).toISOString() }, formatTime(comment.createdAt)),
      comment.editedAt !== null && !deleted && h("span", { className: "sf-comment-edited" }, "(edited)"),
      comment.pending && h("span", { className: "sf-comment-pending" }, "sending…"),
    ),
    editing
      ? h(Composer, {
          initialValue: comment.body,
          users,
          label: "Edit comment",
          submitLabel: "Save",
          autoFocus: true,
          onCancel: () => setEditing(false),
          onSubmit: async (body: string, mentions: string[]) => {
            await actions.editComment(comment.id, body, mentions);
            setEditing(false);
          },
        })
      : h("div", { className: deleted ? "sf-comment-body sf-deleted" : "sf-comment-body" }, deleted ? "This comment was deleted." : renderBody(comment.body, resolveUser)),
    !deleted &&
      h(
        "div",
        { className: "sf-comment-footer" },
        ...comment.reactions.map((r) => {
          const mine = me !== null && r.userIds.includes(me);
          const who = r.userIds.map((id) => resolveUser(id).name).join(", ");
          return h(
            "button",
            {
              key: r.emoji,
              type: "button",
              className: mine ? "sf-reaction sf-reaction-mine" : "sf-reaction",
              "aria-pressed": mine,
              disabled: !rules.canComment,
              title: who,
              "aria-label": `${r.emoji} ${r.userIds.length}: ${who}`,
              onClick: () => void (mine ? actions.removeReaction(comment.id, r.emoji) : actions.addReaction(comment.id, r.emoji)),
            },
            `${r.emoji} ${r.userIds.length}`,
          );
        }),
        rules.canComment && h(EmojiPicker, { onPick: (emoji: string) => void actions.addReaction(comment.id, emoji) }),
        canEdit && !editing && h("button", { type: "button", className: "sf-button sf-button-ghost", onClick: () => setEditing(true), "aria-label": `Edit comment by ${author.name}` }, "Edit"),
        canEdit && h("button", { type: "button", className: "sf-button sf-button-ghost", onClick: () => void actions.deleteComment(comment.id), "aria-label": `Delete comment by ${author.name}` }, "Delete"),
      ),
  );
}

export function ThreadView({ thread, me, rules, actions, resolveUser = (id) => toUserView(id), users = [], onSelect, selected }: ThreadViewProps): ReactElement {
  const first = thread.comments[0];
  const title = first && first.deletedAt === null ? first.body.slice(0, 60) : "Thread";
  return h(
    "article",
    { className: ["sf-thread", thread.resolved && "sf-thread-resolved", selected && "sf-thread-selected"].filter(Boolean).join(" "), "data-thread-id": thread.id, "aria-label": `Thread: ${title}` },
    h(
      "div",
      { className: "sf-thread-header" },
      thread.anchor && onSelect
        ? h("button", { type: "button", className: "sf-button sf-button-ghost sf-thread-anchor", onClick: () => onSelect(thread) }, h("span", { "aria-hidden": true }, "↪ "), "Show in document")
        : null,
      thread.resolved && h("span", { className: "sf-badge" }, "Resolved"),
      rules.canResolveThread(thread) &&
        h(
          "button",
          {
            type: "button",
            className: "sf-button sf-button-ghost",
            "aria-pressed": thread.resolved,
            onClick: () => void (thread.resolved ? actions.markThreadAsUnresolved(thread.id) : actions.markThreadAsResolved(thread.id)),
          },
          thread.resolved ? "Reopen" : "Resolve",
        ),
    ),
    h("ol", { className: "sf-comments" }, ...thread.comments.map((c) => h(CommentView, { key: c.id, comment: c, me, rules, actions, resolveUser, users }))),
    rules.canComment &&
      h(Composer, { users, label: "Reply", placeholder: "Reply… (@ to mention)", submitLabel: "Reply", onSubmit: (body: string, mentions: string[]) => actions.createComment(thread.id, body, { mentions }) }),
  );
}

/** A thread of the room (inside a RoomProvider), with the room's rules and actions. */
export function Thread({ thread, onSelect }: { thread: ThreadData; onSelect?: (thread: ThreadData) => void }): ReactElement {
  const access = useMyAccess();
  const actions = useThreads();
  const { resolve, users } = useRoomUsers();
  return h(ThreadView, { thread, me: access?.userId ?? null, rules: commentRulesFor(access), actions, resolveUser: resolve, users, onSelect });
}
