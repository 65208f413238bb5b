/**
 * Tiptap on the room's Y.Doc and provider (the SDK's @hocuspocus/provider): Collaboration for the
 * text, CollaborationCaret for carets and selections in each user's name and colour (the server
 * stamps both from the token), and comment anchors as Yjs relative positions, so a thread keeps
 * pointing at its text while others edit. Anchored ranges are highlighted with decorations.
 */
import { Editor, Extension } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";
import Collaboration from "@tiptap/extension-collaboration";
import CollaborationCaret from "@tiptap/extension-collaboration-caret";
import { Plugin, PluginKey } from "@tiptap/pm/state";
import { Decoration, DecorationSet } from "@tiptap/pm/view";
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from "@tiptap/y-tiptap";
import * as Y from "yjs";
import type { Room, ThreadAnchor, ThreadData } from "../../client/core/index.ts";

export const FIELD = "content";
const anchorsKey = new PluginKey<DecorationSet>("sf-anchors");

interface SyncState {
  type: Y.XmlFragment;
  binding: { mapping: Map<Y.AbstractType<unknown>, unknown> };
}

function syncState(editor: Editor): SyncState | null {
  return (ySyncPluginKey.getState(editor.state) as SyncState | undefined) ?? null;
}

export function createEditor(element: HTMLElement, room: Room, editable: boolean): Editor {
  let threads: readonly ThreadData[] = [];
  const highlights = Extension.create({
    name: "commentAnchors",
    addProseMirrorPlugins() {
      const editor = this.editor;
      return [
        new Plugin<DecorationSet>({
          key: anchorsKey,
          state: {
            init: () => DecorationSet.empty,
            apply: (tr, old) => {
              if (!tr.getMeta(anchorsKey) && !tr.docChanged) return old;
              const decorations: Decoration[] = [];
              for (const t of threads) {
                const range = t.resolved ? null : anchorRange(editor, t.anchor);
                if (range && range.from < range.to) decorations.push(Decoration.inline(range.from, range.to, { class: "sf-anchor", "data-thread-id": t.id }));
              }
              return DecorationSet.create(tr.doc, decorations);
            },
          },
          props: { decorations: (state) => anchorsKey.getState(state) },
        }),
      ];
    },
  });
  const editor = new Editor({
    element,
    editable,
    editorProps: { attributes: { "aria-label": "Document", role: "textbox", "aria-multiline": "true" } },
    extensions: [
      StarterKit.configure({ undoRedo: false }), // Yjs brings its own undo
      Collaboration.configure({ document: room.doc, field: FIELD }),
      CollaborationCaret.configure({ provider: room.provider }),
      highlights,
    ],
  });
  const refresh = () => {
    threads = room.comments.getThreads();
    if (!editor.isDestroyed) editor.view.dispatch(editor.state.tr.setMeta(anchorsKey, true));
  };
  const off = room.comments.changes.subscribe(refresh);
  editor.on("destroy", off);
  refresh();
  return editor;
}

/** The current selection as a thread anchor (null when nothing is selected). */
export function selectionAnchor(editor: Editor): ThreadAnchor | null {
  const { from, to } = editor.state.selection;
  const sync = syncState(editor);
  if (from === to || !sync) return null;
  const toJSON = (pos: number): unknown => Y.relativePositionToJSON(absolutePositionToRelativePosition(pos, sync.type, sync.binding.mapping as never));
  return { text: { field: FIELD, start: toJSON(from), end: toJSON(to) } };
}

/** Where an anchor is now, in the editor's positions. */
export function anchorRange(editor: Editor, anchor: ThreadAnchor | null): { from: number; to: number } | null {
  const sync = syncState(editor);
  if (!anchor?.text || anchor.text.field !== FIELD || !sync) return null;
  const doc = sync.type.doc!;
  const at = (json: unknown) =>
    relativePositionToAbsolutePosition(doc, sync.type, Y.createRelativePositionFromJSON(json), sync.binding.mapping as never);
  const from = at(anchor.text.start);
  const to = at(anchor.text.end);
  return from === null || to === null ? null : { from, to };
}

/** Select and scroll to a thread's anchored text. */
export function showAnchor(editor: Editor, thread: ThreadData): void {
  const range = anchorRange(editor, thread.anchor);
  if (!range) return;
  editor.chain().focus().setTextSelection(range).scrollIntoView().run();
  (editor.view.domAtPos(range.from).node as HTMLElement | null)?.parentElement?.scrollIntoView({ block: "center" });
}
