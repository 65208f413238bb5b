/**
 * Live pointer cursors over a container: my pointer is sent relative to it (throttled by the
 * client), the others' are drawn as arrows with a name label in their colour, smoothed between
 * updates by the SDK's interpolation, and fade after a few idle seconds. Text carets and selections
 * inside editors come from the editor binding (docs/ui.md) and share the same names and colours.
 */
import { createElement as h, useEffect, useRef, useState, type ReactElement, type ReactNode } from "react";
import { useCursors, useUpdateCursor } from "../react/index.ts";
import type { RenderedCursor } from "../core/index.ts";

export const IDLE_AFTER_MS = 5000;

export function CursorView({ cursor, idle }: { cursor: RenderedCursor; idle: boolean }): ReactElement {
  return h(
    "div",
    {
      className: idle ? "sf-cursor sf-cursor-idle" : "sf-cursor",
      style: { transform: `translate(${cursor.x}px, ${cursor.y}px)`, "--sf-user-color": cursor.color } as Record<string, string>,
      "data-user-id": cursor.userId,
      "aria-hidden": true,
    },
    h("svg", { width: 16, height: 20, viewBox: "0 0 16 20", className: "sf-cursor-arrow" }, h("path", { d: "M0 0 L0 16 L4.5 12 L7.5 19 L10 18 L7 11 L13 11 Z" })),
    h("span", { className: "sf-cursor-label" }, cursor.name),
  );
}

export interface CursorsProps {
  children?: ReactNode;
  className?: string;
}

/** Wrap the area whose pointers are shared (inside a RoomProvider). */
export function Cursors({ children, className }: CursorsProps): ReactElement {
  const cursors = useCursors();
  const updateCursor = useUpdateCursor();
  const ref = useRef<HTMLDivElement>(null);
  const moved = useRef(new Map<number, { x: number; y: number; at: number }>());
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  for (const c of cursors) {
    const last = moved.current.get(c.connectionId);
    if (!last || last.x !== c.x || last.y !== c.y) moved.current.set(c.connectionId, { x: c.x, y: c.y, at: Date.now() });
  }

  return h(
    "div",
    {
      ref,
      className: ["sf-cursors", className].filter(Boolean).join(" "),
      onPointerMove: (event: { clientX: number; clientY: number }) => {
        const box = ref.current?.getBoundingClientRect();
        if (box) updateCursor({ x: Math.round(event.clientX - box.left), y: Math.round(event.clientY - box.top) });
      },
      onPointerLeave: () => updateCursor(null),
    },
    children,
    h(
      "div",
      { className: "sf-cursors-layer" },
      ...cursors.map((cursor) => h(CursorView, { key: cursor.connectionId, cursor, idle: now - (moved.current.get(cursor.connectionId)?.at ?? now) > IDLE_AFTER_MS })),
    ),
  );
}
