/**
 * The room's threads in a panel: open ones first, resolved ones behind a toggle, each a Thread
 * (replies, reactions, resolve, edit/delete own), and a composer for a new thread when the token
 * may comment. Selecting an anchored thread scrolls to its anchor: `onThreadSelect` for text
 * anchors (the editor knows where they are), else the element whose id is `anchor.elementId`.
 */
import { createElement as h, useState, type ReactElement } from "react";
import { commentRulesFor, type ThreadAnchor, type ThreadData } from "../core/index.ts";
import { useMyAccess, useThreads } from "../react/index.ts";
import { useRoomUsers } from "./shared.ts";
import { ThreadView } from "./Thread.ts";
import { Composer } from "./Composer.ts";

export interface CommentsPanelProps {
  /** Scroll to (and select) a thread's anchor; by default the element named by `anchor.elementId`. */
  onThreadSelect?: (thread: ThreadData) => void;
  /** The anchor a new thread gets (e.g. the editor's current selection); null: not anchored. */
  newThreadAnchor?: () => ThreadAnchor | null;
  /** Show the new-thread composer (default true). */
  showComposer?: boolean;
  className?: string;
}

/** Default anchor scrolling: the element with the anchor's elementId. */
export function scrollToAnchor(thread: ThreadData): void {
  const id = thread.anchor?.elementId;
  if (!id || typeof document === "undefined") return;
  document.getElementById(id)?.scrollIntoView({ behavior: "smooth", block: "center" });
}

export function CommentsPanel({ onThreadSelect = scrollToAnchor, newThreadAnchor, showComposer = true, className }: CommentsPanelProps): ReactElement {
  const { threads, ...actions } = useThreads();
  const access = useMyAccess();
  const { resolve, users } = useRoomUsers();
  const [showResolved, setShowResolved] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const rules = commentRulesFor(access);
  const open = threads.filter((t) => !t.resolved);
  const resolved = threads.filter((t) => t.resolved);
  const shown = showResolved ? [...open, ...resolved] : open;

  return h(
    "section",
    { className: ["sf-comments-panel", className].filter(Boolean).join(" "), "aria-label": "Comments" },
    h(
      "header",
      { className: "sf-panel-header" },
      h("h2", { className: "sf-panel-title" }, `Comments (${open.length})`),
      resolved.length > 0 &&
        h("button", { type: "button", className: "sf-button sf-button-ghost", "aria-pressed": showResolved, onClick: () => setShowResolved(!showResolved) }, showResolved ? "Hide resolved" : `Show resolved (${resolved.length})`),
    ),
    shown.length === 0 && h("p", { className: "sf-empty" }, "No comments yet."),
    ...shown.map((thread) =>
      h(ThreadView, {
        key: thread.id,
        thread,
        me: access?.userId ?? null,
        rules,
        actions,
        resolveUser: resolve,
        users,
        selected: selected === thread.id,
        onSelect: (t: ThreadData) => {
          setSelected(t.id);
          onThreadSelect(t);
        },
      }),
    ),
    showComposer &&
      rules.canComment &&
      h(Composer, {
        users,
        label: "New comment",
        placeholder: "Start a thread… (@ to mention)",
        submitLabel: "Comment",
        onSubmit: (body: string, mentions: string[]) => actions.createThread({ body, mentions, anchor: newThreadAnchor?.() ?? null }),
      }),
  );
}
