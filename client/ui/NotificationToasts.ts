/**
 * Toasts for notifications that arrive while the page is open (not the history): each shows for
 * `durationMs` (default 6 s) or until dismissed, in a polite live region, newest last.
 */
import { createElement as h, useEffect, useRef, useState, type ReactElement } from "react";
import type { InboxNotification } from "../core/index.ts";
import { useClient } from "../react/index.ts";
import { describeNotification } from "./InboxNotifications.ts";

export interface NotificationToastsViewProps {
  toasts: readonly InboxNotification[];
  onDismiss(id: string): void;
  nameOf?: (userId: string) => string;
  onSelect?: (n: InboxNotification) => void;
}

export function NotificationToastsView({ toasts, onDismiss, nameOf, onSelect }: NotificationToastsViewProps): ReactElement {
  return h(
    "div",
    { className: "sf-toasts", role: "status", "aria-live": "polite", "aria-label": "New notifications" },
    ...toasts.map((n) => {
      const text = describeNotification(n, nameOf);
      return h(
        "div",
        { key: n.id, className: "sf-toast", "data-notification-id": n.id },
        onSelect ? h("button", { type: "button", className: "sf-link", onClick: () => onSelect(n) }, text) : h("span", null, text),
        h("button", { type: "button", className: "sf-button sf-button-icon", "aria-label": `Dismiss: ${text}`, onClick: () => onDismiss(n.id) }, "×"),
      );
    }),
  );
}

export function NotificationToasts({ durationMs = 6000, nameOf, onSelect }: { durationMs?: number; nameOf?: (userId: string) => string; onSelect?: (n: InboxNotification) => void }): ReactElement {
  const client = useClient();
  const [toasts, setToasts] = useState<InboxNotification[]>([]);
  const seen = useRef<Set<string> | null>(null);
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());

  useEffect(() => {
    // What is in the inbox on mount (and history loaded later, older than mount) is not news.
    const mountedAt = new Date().toISOString();
    seen.current = new Set(client.inbox.get().notifications.map((n) => n.id));
    const stop = client.inbox.start();
    const off = client.inbox.subscribe(({ notifications }) => {
      const fresh = notifications.filter((n) => !seen.current!.has(n.id) && !n.readAt && n.createdAt >= mountedAt);
      for (const n of notifications) seen.current!.add(n.id);
      if (fresh.length === 0) return;
      setToasts((current) => [...current, ...fresh.reverse()]);
      for (const n of fresh) {
        const timer = setTimeout(() => {
          timers.current.delete(timer);
          setToasts((current) => current.filter((t) => t.id !== n.id));
        }, durationMs);
        timers.current.add(timer);
      }
    });
    return () => {
      off();
      stop();
      for (const t of timers.current) clearTimeout(t);
      timers.current.clear();
    };
  }, [client, durationMs]);

  return h(NotificationToastsView, { toasts, nameOf, onSelect, onDismiss: (id: string) => setToasts((current) => current.filter((t) => t.id !== id)) });
}
