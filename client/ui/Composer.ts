/**
 * A comment box with @mentions: typing "@" and letters suggests the room's users in a listbox
 * (↑/↓ to move, Enter or Tab to insert "@id", Escape to close); Enter sends, Shift+Enter starts a
 * new line. The body carries "@id" and `mentions` lists the ids, which the server notifies.
 */
import { createElement as h, useId, useMemo, useRef, useState, type ReactElement } from "react";
import type { UserView } from "./shared.ts";

/** The "@query" being typed just before the caret, or null. */
export function mentionQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s)@([^\s@]{0,64})$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2]!.length - 1, query: match[2]! } : null;
}

/** The user ids mentioned in a body ("@id" of a known user). */
export function mentionsIn(body: string, users: readonly UserView[]): string[] {
  return users.filter((u) => new RegExp(`(^|\\s)@${u.id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?=$|[\\s.,!?;:])`).test(body)).map((u) => u.id);
}

export interface ComposerProps {
  onSubmit(body: string, mentions: string[]): unknown;
  /** Users offered after "@". */
  users?: readonly UserView[];
  /** The accessible name of the text box. */
  label?: string;
  placeholder?: string;
  submitLabel?: string;
  initialValue?: string;
  onCancel?: () => void;
  autoFocus?: boolean;
  className?: string;
}

export function Composer({ onSubmit, users = [], label = "Write a comment", placeholder = "Write a comment… (@ to mention)", submitLabel = "Send", initialValue = "", onCancel, autoFocus, className }: ComposerProps): ReactElement {
  const [value, setValue] = useState(initialValue);
  const [caret, setCaret] = useState(initialValue.length);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();

  const query = mentionQueryAt(value, caret);
  const suggestions = useMemo(() => {
    if (!query || dismissed === query.start) return [];
    const q = query.query.toLowerCase();
    return users.filter((u) => u.id.toLowerCase().startsWith(q) || u.name.toLowerCase().startsWith(q)).slice(0, 6);
  }, [query?.query, query?.start, dismissed, users]);
  const open = suggestions.length > 0;

  function insert(user: UserView): void {
    if (!query) return;
    const next = `${value.slice(0, query.start)}@${user.id} ${value.slice(caret)}`;
    const at = query.start + user.id.length + 2;
    setValue(next);
    setCaret(at);
    setActive(0);
    requestAnimationFrameSafe(() => area.current?.setSelectionRange(at, at));
  }

  async function submit(): Promise<void> {
    const body = value.trim();
    if (!body || busy) return;
    setBusy(true);
    try {
      await onSubmit(body, mentionsIn(body, users));
      setValue("");
      setCaret(0);
    } finally {
      setBusy(false);
    }
  }

  return h(
    "form",
    {
      className: ["sf-composer", className].filter(Boolean).join(" "),
      onSubmit: (e: { preventDefault(): void }) => {
        e.preventDefault();
        void submit();
      },
    },
    h("textarea", {
      ref: area,
      className: "sf-composer-input",
      value,
      placeholder,
      "aria-label": label,
      rows: 2,
      autoFocus,
      // A textbox (a textarea may not be a combobox) that controls the suggestions listbox.
      "aria-autocomplete": "list",
      "aria-controls": listId,
      "aria-activedescendant": open ? `${listId}-${active}` : undefined,
      onChange: (e: { target: HTMLTextAreaElement }) => {
        setValue(e.target.value);
        setCaret(e.target.selectionStart ?? e.target.value.length);
        setActive(0);
      },
      onSelect: (e: { target: EventTarget }) => setCaret((e.target as HTMLTextAreaElement).selectionStart ?? 0),
      onKeyDown: (e: { key: string; shiftKey: boolean; preventDefault(): void }) => {
        if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
          e.preventDefault();
          setActive((i) => (i + (e.key === "ArrowDown" ? 1 : suggestions.length - 1)) % suggestions.length);
        } else if (open && (e.key === "Enter" || e.key === "Tab")) {
          e.preventDefault();
          insert(suggestions[active] ?? suggestions[0]!);
        } else if (open && e.key === "Escape") {
          e.preventDefault();
          setDismissed(query!.start);
        } else if (e.key === "Escape" && onCancel) {
          e.preventDefault();
          onCancel();
        } else if (e.key === "Enter" && !e.shiftKey) {
          e.preventDefault();
          void submit();
        }
      },
    }),
    h(
      "ul",
      { id: listId, role: "listbox", className: "sf-mentions", hidden: !open, "aria-label": "Mention someone" },
      ...suggestions.map((u, i) =>
        h(
          "li",
          {
            key: u.id,
            id: `${listId}-${i}`,
            role: "option",
            "aria-selected": i === active,
            className: i === active ? "sf-mention-option sf-active" : "sf-mention-option",
            onMouseDown: (e: { preventDefault(): void }) => {
              e.preventDefault();
              insert(u);
            },
          },
          h("span", { className: "sf-mention-dot", style: { background: u.color }, "aria-hidden": true }),
          u.name === u.id ? u.id : `${u.name} (@${u.id})`,
        ),
      ),
    ),
    h(
      "div",
      { className: "sf-composer-actions" },
      onCancel && h("button", { type: "button", className: "sf-button sf-button-ghost", onClick: onCancel }, "Cancel"),
      h("button", { type: "submit", className: "sf-button sf-button-primary", disabled: busy || value.trim() === "" }, submitLabel),
    ),
  );
}

function requestAnimationFrameSafe(fn: () => void): void {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(fn);
  else setTimeout(fn, 0);
}
