/**
 * Tiptap as its docs set it up for collaboration: StarterKit without its own undo, Collaboration on
 * the provider's Y.Doc and CollaborationCaret on its awareness, over a stock @hocuspocus/provider
 * connected to /collab.
 */
import { Editor } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";
import Collaboration from "@tiptap/extension-collaboration";
import CollaborationCaret from "@tiptap/extension-collaboration-caret";
import { HocuspocusProvider } from "@hocuspocus/provider";
import type { EditorOptions, EditorPage } from "./main.ts";

export function openEditor({ server, room, token, element, user }: EditorOptions): EditorPage {
  const provider = new HocuspocusProvider({ url: server, name: room, token });
  const editor = new Editor({
    element,
    extensions: [
      StarterKit.configure({ undoRedo: false }), // Yjs brings its own undo
      Collaboration.configure({ document: provider.document, field: "content" }),
      CollaborationCaret.configure({ provider, user }),
    ],
  });
  return {
    isSynced: () => provider.isSynced,
    text: () => editor.getText(),
    shared: () => provider.document.getXmlFragment("content").toString(),
  };
}
