/**
 * Real Yjs clients for tests: @hocuspocus/provider over a real socket, and helpers to wait for
 * sync and for content to converge.
 */
import * as Y from "yjs";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";

export interface TestProvider {
  provider: HocuspocusProvider;
  socket: HocuspocusProviderWebsocket;
  doc: Y.Doc;
  text: Y.Text;
  destroy(): void;
}

export function connectProvider(url: string, name: string, token: string): TestProvider {
  const doc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({ url, maxAttempts: 0, delay: 100, minDelay: 100, maxDelay: 500 });
  const provider = new HocuspocusProvider({ websocketProvider: socket, name, token, document: doc });
  provider.attach();
  return {
    provider,
    socket,
    doc,
    text: doc.getText("content"),
    destroy: () => {
      provider.destroy();
      socket.destroy();
      doc.destroy();
    },
  };
}

export function waitFor(predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      let ok = false;
      try {
        ok = predicate();
      } catch {
        ok = false;
      }
      if (ok) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

export function waitForSynced(client: TestProvider, timeoutMs = 5000): Promise<void> {
  return waitFor(() => client.provider.isSynced, timeoutMs, "provider to sync");
}

/** Wait until the server has acknowledged every local change (no unsynced changes left). */
export function waitForAcked(client: TestProvider, timeoutMs = 5000): Promise<void> {
  return waitFor(() => client.provider.isSynced && !client.provider.hasUnsyncedChanges, timeoutMs, "server to acknowledge changes");
}
