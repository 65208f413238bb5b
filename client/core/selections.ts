/**
 * Text selections shared through awareness as Yjs relative positions (the y-codemirror /
 * y-prosemirror convention: `cursor: { anchor, head }`). A relative position names a character,
 * not an offset, so a selection stays on the same text while others type before it; it is
 * resolved to offsets only when drawn.
 */
import * as Y from "yjs";
import type { RelativeSelectionJSON, TypeConfig, User } from "./types.ts";

/** Encode a selection in `text` (offsets) for awareness. */
export function toRelativeSelection(text: Y.Text, anchor: number, head: number = anchor): RelativeSelectionJSON {
  return {
    anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, anchor)),
    head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(text, head)),
  };
}

export interface ResolvedSelection {
  anchor: number;
  head: number;
  /** min(anchor, head) and max(anchor, head): the range to highlight. */
  from: number;
  to: number;
}

/** Resolve a shared selection to offsets in `text`; null when it points elsewhere or is gone. */
export function resolveSelection(text: Y.Text, selection: RelativeSelectionJSON | null | undefined): ResolvedSelection | null {
  const doc = text.doc;
  if (!doc || !selection) return null;
  try {
    const anchor = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(selection.anchor), doc);
    const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(selection.head), doc);
    if (!anchor || !head || anchor.type !== text || head.type !== text) return null;
    return { anchor: anchor.index, head: head.index, from: Math.min(anchor.index, head.index), to: Math.max(anchor.index, head.index) };
  } catch {
    return null;
  }
}

export interface RemoteSelection<T extends TypeConfig = TypeConfig> extends ResolvedSelection {
  user: User<T>;
}

/** Everyone's selection in `text`, resolved, for drawing highlights and carets. */
export function resolveSelections<T extends TypeConfig>(text: Y.Text, users: readonly User<T>[]): RemoteSelection<T>[] {
  const out: RemoteSelection<T>[] = [];
  for (const user of users) {
    const resolved = resolveSelection(text, user.selection);
    if (resolved) out.push({ ...resolved, user });
  }
  return out;
}
