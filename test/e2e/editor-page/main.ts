/**
 * A page built by Vite for test/e2e/editor-bindings.test.ts: one stock editor binding, chosen by
 * the query string (`editor=tiptap|codemirror`, `server`, `room`, `token`), exposed to the test as
 * `window.editor` for reading only — input reaches the editor through the real keyboard.
 */

export interface EditorOptions {
  server: string;
  room: string;
  token: string;
  element: HTMLElement;
  /** The user the page claims in awareness; the server replaces it with the token's. */
  user: { name: string; color: string };
}

export interface EditorPage {
  isSynced(): boolean;
  /** The text the editor shows. */
  text(): string;
  /** The shared Yjs type the binding writes, serialised. */
  shared(): string;
}

const params = new URLSearchParams(location.search);
const { openEditor } = params.get("editor") === "tiptap" ? await import("./tiptap.ts") : await import("./codemirror.ts");
(window as unknown as { editor: EditorPage }).editor = openEditor({
  server: params.get("server")!,
  room: params.get("room")!,
  token: params.get("token")!,
  element: document.getElementById("root")!,
  user: { name: "claimed by the page", color: "#000000" },
});
