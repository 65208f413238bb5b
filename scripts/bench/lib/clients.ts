/**
 * Benchmark clients: real @hocuspocus/provider instances, one WebSocket each (every simulated user
 * has its own connection, as browsers do), in the benchmark process.
 */
import * as Y from "yjs";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";

export interface BenchClient {
  provider: HocuspocusProvider;
  socket: HocuspocusProviderWebsocket;
  doc: Y.Doc;
  /** Times the socket dropped after connecting (a healthy run has none). */
  disconnects(): number;
  destroy(): void;
}

/** Open a provider for `room` on `url` and resolve once it is synced with nothing unacknowledged. */
export async function connectClient(url: string, room: string, token: string, timeoutMs = 15_000): Promise<BenchClient> {
  const doc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({ url, delay: 200, minDelay: 200, maxDelay: 1000 });
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: room, token, document: doc });
  let disconnects = 0;
  let connected = false;
  let failure: string | null = null;
  socket.on("connect", () => (connected = true));
  socket.on("disconnect", () => {
    if (connected) disconnects += 1;
  });
  provider.on("authenticationFailed", ({ reason }: { reason: string }) => (failure = `authentication failed: ${reason}`));
  provider.attach();
  const client: BenchClient = {
    provider,
    socket,
    doc,
    disconnects: () => disconnects,
    destroy: () => {
      provider.destroy();
      socket.destroy();
      doc.destroy();
    },
  };
  try {
    await waitFor(() => {
      if (failure) throw new Error(failure);
      return provider.isSynced && provider.unsyncedChanges === 0;
    }, timeoutMs, `client for room ${room} to sync`);
  } catch (error) {
    client.destroy();
    throw error;
  }
  return client;
}

/** Poll `predicate` every 5 ms; rejects after `timeoutMs` (or at once if the predicate throws). */
export function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tick = () => {
      let ok: boolean;
      try {
        ok = predicate();
      } catch (error) {
        reject(error);
        return;
      }
      if (ok) return resolve();
      if (performance.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
