/**
 * The signed-in user's inbox: unread count, newest first, a sentence per notification kind, mark one
 * or all as read, and a link to the thread (`hrefFor`) or a callback (`onSelect`). Works with or
 * without a room open (useNotifications keeps the live stream open while mounted).
 */
import { createElement as h, type ReactElement } from "react";
import type { InboxNotification } from "../core/index.ts";
import { useNotifications } from "../react/index.ts";
import { formatTime } from "./shared.ts";

const SENTENCES: Record<string, (actor: string, room: string) => string> = {
  mention: (a, r) => `${a} mentioned you in ${r}`,
  reply: (a, r) => `${a} replied in ${r}`,
  reaction: (a, r) => `${a} reacted to your comment in ${r}`,
  thread_resolved: (a, r) => `${a} resolved a thread in ${r}`,
  added_to_room: (_a, r) => `You were added to ${r}`,
  added_to_org: () => "You were added to the organization",
};

/** The sentence a notification reads as. */
export function describeNotification(n: InboxNotification, nameOf: (userId: string) => string = (id) => id): string {
  const sentence = SENTENCES[n.kind];
  const room = n.roomId ?? "a room";
  if (sentence) return sentence(n.actorId ? nameOf(n.actorId) : "Someone", room);
  return `${n.kind.replace(/^\$/, "")}${n.roomId ? ` in ${room}` : ""}`;
}

export interface InboxNotificationsViewProps {
  notifications: readonly InboxNotification[];
  unreadCount: number;
  markRead(id: string): unknown;
  markAllRead(): unknown;
  hrefFor?: (n: InboxNotification) => string | null;
  onSelect?: (n: InboxNotification) => void;
  nameOf?: (userId: string) => string;
  className?: string;
}

export function InboxNotificationsView({ notifications, unreadCount, markRead, markAllRead, hrefFor, onSelect, nameOf, className }: InboxNotificationsViewProps): ReactElement {
  return h(
    "section",
    { className: ["sf-inbox", className].filter(Boolean).join(" "), "aria-label": "Notifications" },
    h(
      "header",
      { className: "sf-panel-header" },
      h("h2", { className: "sf-panel-title" }, "Inbox ", h("span", { className: "sf-unread-count", "aria-label": `${unreadCount} unread` }, String(unreadCount))),
      unreadCount > 0 && h("button", { type: "button", className: "sf-button sf-button-ghost", onClick: () => void markAllRead() }, "Mark all as read"),
    ),
    notifications.length === 0 && h("p", { className: "sf-empty" }, "You're all caught up."),
    h(
      "ul",
      { className: "sf-inbox-list" },
      ...notifications.map((n) => {
        const text = describeNotification(n, nameOf);
        const href = hrefFor?.(n) ?? null;
        const excerpt = typeof n.data.excerpt === "string" ? n.data.excerpt : null;
        const open = () => {
          if (!n.readAt) void markRead(n.id);
          onSelect?.(n);
        };
        return h(
          "li",
          { key: n.id, className: n.readAt ? "sf-inbox-item" : "sf-inbox-item sf-unread", "data-notification-id": n.id },
          h("span", { className: "sf-unread-dot", "aria-hidden": true }),
          h(
            "div",
            { className: "sf-inbox-text" },
            href ? h("a", { href, onClick: open }, text) : onSelect ? h("button", { type: "button", className: "sf-link", onClick: open }, text) : h("span", null, text),
            excerpt && h("q", { className: "sf-inbox-excerpt" }, excerpt),
            h("time", { className: "sf-comment-time", dateTime: n.createdAt }, formatTime(Date.parse(n.createdAt))),
          ),
          !n.readAt && h("button", { type: "button", className: "sf-button sf-button-ghost", "aria-label": `Mark as read: ${text}`, onClick: () => void markRead(n.id) }, "Mark as read"),
        );
      }),
    ),
  );
}

export type InboxNotificationsProps = Omit<InboxNotificationsViewProps, "notifications" | "unreadCount" | "markRead" | "markAllRead">;

/** Inside a SyncForgeProvider; no room needed. */
export function InboxNotifications(props: InboxNotificationsProps): ReactElement {
  const inbox = useNotifications();
  return h(InboxNotificationsView, { ...inbox, ...props });
}
