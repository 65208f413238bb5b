/**
 * "Alice is typing…" for the others whose presence says they type (useSetTyping), announced
 * politely to screen readers; nothing when nobody types.
 */
import { createElement as h, type ReactElement } from "react";
import { shallow, useOthers } from "../react/index.ts";

/** The sentence for a list of names; empty for none. */
export function typingSentence(names: readonly string[]): string {
  const unique = [...new Set(names)];
  if (unique.length === 0) return "";
  if (unique.length === 1) return `${unique[0]} is typing…`;
  if (unique.length === 2) return `${unique[0]} and ${unique[1]} are typing…`;
  return `${unique[0]}, ${unique[1]} and ${unique.length - 2} more are typing…`;
}

export function TypingIndicatorView({ names, className }: { names: readonly string[]; className?: string }): ReactElement {
  const text = typingSentence(names);
  return h("div", { className: ["sf-typing", className].filter(Boolean).join(" "), role: "status", "aria-live": "polite" }, text);
}

export function TypingIndicator({ className }: { className?: string }): ReactElement {
  const names = useOthers((others) => others.filter((u) => u.isTyping).map((u) => u.info.name || u.id), shallow);
  return h(TypingIndicatorView, { names, className });
}
