/**
 * A small emoji picker for reactions: a button that opens a grid of named emoji buttons (arrow keys
 * move between them, Escape closes and gives focus back; a click elsewhere closes it), as
 * Liveblocks' reaction picker does.
 */
import { createElement as h, useEffect, useRef, useState, type ReactElement } from "react";

export const DEFAULT_EMOJIS: ReadonlyArray<readonly [string, string]> = [
  ["👍", "thumbs up"], ["👎", "thumbs down"], ["😄", "smile"], ["🎉", "party"], ["❤️", "heart"],
  ["🚀", "rocket"], ["👀", "eyes"], ["🤔", "thinking"], ["✅", "check"], ["🔥", "fire"],
  ["😢", "sad"], ["🙏", "thanks"],
];

export function EmojiPicker({ onPick, label = "Add reaction", emojis = DEFAULT_EMOJIS }: { onPick(emoji: string): void; label?: string; emojis?: typeof DEFAULT_EMOJIS }): ReactElement {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const grid = useRef<HTMLDivElement>(null);

  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    (grid.current?.querySelector("button") as HTMLButtonElement | null)?.focus();
    // A click elsewhere or Escape anywhere closes it, as a popover does.
    const onPointer = (e: Event) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);

  function close(): void {
    setOpen(false);
    trigger.current?.focus();
  }

  return h(
    "div",
    { className: "sf-emoji-picker", ref: root },
    h("button", { ref: trigger, type: "button", className: "sf-button sf-button-icon", "aria-label": label, "aria-expanded": open, "aria-haspopup": "dialog", onClick: () => setOpen(!open) }, "☺︎+"),
    open &&
      h(
        "div",
        {
          ref: grid,
          role: "dialog",
          "aria-label": "Pick an emoji",
          className: "sf-emoji-grid",
          onKeyDown: (e: { key: string; preventDefault(): void; target: EventTarget }) => {
            const buttons = [...(grid.current?.querySelectorAll("button") ?? [])] as HTMLButtonElement[];
            const i = buttons.indexOf(e.target as HTMLButtonElement);
            const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 6, ArrowUp: -6 }[e.key];
            if (e.key === "Escape") {
              e.preventDefault();
              close();
            } else if (step !== undefined && i !== -1) {
              e.preventDefault();
              buttons[(i + step + buttons.length) % buttons.length]?.focus();
            }
          },
        },
        ...emojis.map(([emoji, name]) =>
          h(
            "button",
            {
              key: emoji,
              type: "button",
              className: "sf-emoji",
              "aria-label": name,
              title: name,
              onClick: () => {
                onPick(emoji);
                close();
              },
            },
            emoji,
          ),
        ),
      ),
  );
}
