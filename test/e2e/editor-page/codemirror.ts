/**
 * CodeMirror 6 with y-codemirror.next (text, remote carets and selections) over the stock
 * y-websocket WebsocketProvider connected to /yjs/<room>?token=.
 */
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { EditorView, basicSetup } from "codemirror";
import { yCollab } from "y-codemirror.next";
import type { EditorOptions, EditorPage } from "./main.ts";

export function openEditor({ server, room, token, element, user }: EditorOptions): EditorPage {
  const doc = new Y.Doc();
  // disableBc: pages of one origin would otherwise also sync over a BroadcastChannel, not the server.
  const provider = new WebsocketProvider(server, room, doc, { params: { token }, disableBc: true });
  provider.awareness.setLocalStateField("user", user);
  const ytext = doc.getText("content");
  const view = new EditorView({
    doc: ytext.toString(),
    extensions: [basicSetup, yCollab(ytext, provider.awareness)],
    parent: element,
  });
  return {
    isSynced: () => provider.synced,
    text: () => view.state.doc.toString(),
    shared: () => ytext.toString(),
  };
}
