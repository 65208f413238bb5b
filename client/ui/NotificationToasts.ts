/**
 * Toasts for notifications pushed while the page is open (`inbox.live`, not the history): each shows for
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
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());

  useEffect(() => {
    const stop = client.inbox.start();
    // Live arrivals only: history loaded from the server is not news.
    const off = client.inbox.live.subscribe((n) => {
      if (n.readAt) return;
      setToasts((current) => [...current, n]);
      const timer = setTimeout(() => {
        timers.current.delete(timer);
        setToasts((current) => current.filter((t) => t.id !== n.id));
      }, durationMs);
      timers.current.add(timer);
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
