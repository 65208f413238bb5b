/**
 * The stock y-websocket WebsocketProvider against our /yjs endpoint. Always `disableBc: true`:
 * providers in one process would otherwise sync over an in-process BroadcastChannel and a test
 * would prove nothing about the server.
 */
import * as Y from "yjs";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";

export interface YwsClient {
  provider: WebsocketProvider;
  doc: Y.Doc;
  text: Y.Text;
  /** Set when the server closed the socket with a final (4xxx) code. */
  closed: { code: number; reason: string } | null;
  destroy(): void;
}

export function connectYws(httpOrWsUrl: string, room: string, token: string | null, params: Record<string, string> = {}): YwsClient {
  const doc = new Y.Doc();
  const base = httpOrWsUrl.replace(/^http/, "ws").replace(/\/collab$/, "");
  const provider = new WebsocketProvider(`${base}/yjs`, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: token === null ? { ...params } : { token, ...params },
    maxBackoffTime: 500,
  });
  const client: YwsClient = {
    provider,
    doc,
    text: doc.getText("content"),
    closed: null,
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
  provider.on("closed", (event: { code: number; reason: string }) => {
    client.closed = event;
  });
  return client;
}
