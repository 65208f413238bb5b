/**
 * The awareness benchmark's clients, in a worker thread (scripts/bench/awareness.ts starts them).
 *
 * One process of real providers runs out of one core long before a server does (1,000 providers at
 * 100 rooms × 10 took 105 % of a core), and then the benchmark measures its own queue. The clients
 * are split over a few worker threads of the benchmark process instead, each room's clients spread
 * over all of them. Times are read from the process's monotonic clock (`process.hrtime`), the same in
 * every thread, so a writer and the clients that time its updates need not share a thread.
 *
 * Protocol: the thread connects its rooms (workerData) and posts `connected` (or `failed`); then, on
 * the main thread's messages: `start` starts the writers, `window-start`/`window-end` bound the
 * measuring window (writers stop at its end; the thread then waits, up to GRACE_MS, until every
 * thread's readers together have what every thread's writers sent — the shared `tally` — and posts
 * `result`), `close` disconnects everything and posts `closed`.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as Y from "yjs";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import type { Awareness } from "y-protocols/awareness";
import { connectClient, waitFor } from "./clients.ts";
import { startPaced } from "./pace.ts";
import { colorForUser } from "../../../protocol/colors.ts";

export type ClientKind = "hocuspocus" | "y-websocket";

export interface RoomPlan {
  name: string;
  /** Clients of the room in all threads: a write is expected to reach size − 1 of them. */
  size: number;
  /** This thread's clients of the room: users, their access tokens, and whether they write. */
  clients: Array<{ userId: string; token: string; writer: boolean }>;
  /** The flood room: its clients only count what reaches them (the flooder is another process). */
  flood: boolean;
}

export interface ClientsPlan {
  kind: ClientKind;
  url: string;
  hz: number;
  graceMs: number;
  rooms: RoomPlan[];
  /**
   * Shared by every thread (Int32 × 2): in-window deliveries received, and expected, in all threads.
   * A thread's readers get the writes of every thread, so only the totals say when all has arrived.
   */
  tally: SharedArrayBuffer;
}

/** A fresh `tally` for one run's threads. */
export function createTally(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}

/**
 * Window bounds `at` are clock() milliseconds, set by the main thread for every thread and announced
 * ahead of time, so that a writer and its readers in other threads agree on which writes count.
 */
export type ToClients = { type: "start" } | { type: "window-start"; at: number } | { type: "window-end"; at: number } | { type: "close" };

export type FromClients =
  | { type: "connected" }
  | { type: "failed"; message: string }
  | { type: "result"; latencies: Float64Array; expected: number; floodReceived: number; floodReceivers: number }
  | { type: "closed" };

interface Client {
  awareness: Awareness;
  clientId: number;
  destroy(): void;
}

/**
 * What a real editor client publishes about its user (Tiptap's CollaborationCaret, y-codemirror.next:
 * `user: { name, color }`). The same bytes SyncForge stamps from the token, so every server relays
 * states of the same size and only SyncForge's work on them differs.
 */
interface WriterUser {
  id: string;
  name: string;
  color: string;
}

async function connect(kind: ClientKind, url: string, room: string, token: string): Promise<Client> {
  if (kind === "hocuspocus") {
    const c = await connectClient(url, room, token);
    return { awareness: c.provider.awareness!, clientId: c.doc.clientID, destroy: () => c.destroy() };
  }
  // Every y-websocket provider adds a process "exit" listener in Node; hundreds of them are expected here.
  if (process.getMaxListeners() !== 0) process.setMaxListeners(0);
  const doc = new Y.Doc();
  const yjsUrl = url.endsWith("/collab") ? url.replace(/\/collab$/, "/yjs") : url;
  const provider = new WebsocketProvider(yjsUrl, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token },
  });
  const destroy = () => {
    provider.destroy();
    doc.destroy();
  };
  try {
    await waitFor(() => provider.synced, 15_000, `y-websocket client for ${room} to sync`);
  } catch (error) {
    destroy();
    throw error;
  }
  return { awareness: provider.awareness, clientId: doc.clientID, destroy };
}

/** Milliseconds on the process's monotonic clock: comparable between threads, unlike performance.now(). */
export function clock(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Set `awareness`'s state every `intervalMs` from `phaseMs` on; late slots are skipped, not burst. */
function startWriter(awareness: Awareness, user: WriterUser, intervalMs: number, phaseMs: number, onWrite: (t: number) => void): () => void {
  let seq = 0;
  return startPaced(intervalMs, phaseMs, () => {
    const t = clock();
    awareness.setLocalState({ user, pointer: { x: seq % 800, y: seq % 600 }, s: seq, t });
    onWrite(t);
    seq += 1;
  });
}

/** Call `onDelivery(t)` for every new writer state `client` receives (t = when it was written). */
function listen(client: Client, onDelivery: (t: number) => void): void {
  const last = new Map<number, number>();
  client.awareness.on("update", ({ added, updated }: { added: number[]; updated: number[] }) => {
    for (const id of added.concat(updated)) {
      if (id === client.clientId) continue;
      const state = client.awareness.getStates().get(id) as { s?: number; t?: number } | undefined;
      if (state?.s === undefined || state.t === undefined || state.s <= (last.get(id) ?? -1)) continue;
      last.set(id, state.s);
      onDelivery(state.t);
    }
  });
}

async function main(plan: ClientsPlan, port: NonNullable<typeof parentPort>): Promise<void> {
  const clients: Client[] = [];
  const latencies: number[] = [];
  let window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };
  const inWindow = (t: number) => t >= window.start && t < window.end;
  let expected = 0;
  let floodReceived = 0;
  let floodReceivers = 0;
  const starts: Array<() => () => void> = [];
  const stops: Array<() => void> = [];
  const intervalMs = 1000 / plan.hz;
  const tally = new Int32Array(plan.tally);
  const RECEIVED = 0;
  const EXPECTED = 1;
  const post = (message: FromClients) => port.postMessage(message);

  try {
    for (const room of plan.rooms) {
      const connected = await Promise.all(room.clients.map((c) => connect(plan.kind, plan.url, room.name, c.token).catch((error: Error) => error)));
      const failed = connected.find((c): c is Error => c instanceof Error);
      for (const c of connected) if (!(c instanceof Error)) clients.push(c);
      if (failed) throw failed;
      const members = connected as Client[];
      for (const client of members) {
        if (room.flood) {
          // The flooder's stamps come from another process's clock: count by arrival time.
          floodReceivers += 1;
          listen(client, () => inWindow(clock()) && (floodReceived += 1));
        } else {
          listen(client, (t) => {
            if (!inWindow(t)) return;
            latencies.push(clock() - t);
            Atomics.add(tally, RECEIVED, 1);
          });
        }
      }
      for (const [i, member] of members.entries()) {
        if (room.flood || !room.clients[i]!.writer) continue;
        const userId = room.clients[i]!.userId;
        const user: WriterUser = { id: userId, name: userId, color: colorForUser(userId) };
        const onWrite = (t: number) => {
          if (!inWindow(t)) return;
          expected += room.size - 1;
          Atomics.add(tally, EXPECTED, room.size - 1);
        };
        starts.push(() => startWriter(member.awareness, user, intervalMs, Math.random() * intervalMs, onWrite));
      }
    }
  } catch (error) {
    for (const client of clients) client.destroy();
    post({ type: "failed", message: (error as Error).message });
    return;
  }
  post({ type: "connected" });

  port.on("message", (message: ToClients) => {
    switch (message.type) {
      case "start":
        for (const start of starts) stops.push(start());
        break;
      case "window-start":
        window = { start: message.at, end: Number.POSITIVE_INFINITY };
        break;
      case "window-end": {
        // Announced ahead: the writers run until the window's end, then what is in flight may arrive.
        window = { start: window.start, end: message.at };
        setTimeout(() => {
          for (const stop of stops) stop();
          stops.length = 0;
          const report = () => {
            const result = Float64Array.from(latencies);
            post({ type: "result", latencies: result, expected, floodReceived, floodReceivers });
          };
          // Every thread's writers have stopped by now (same window end); wait for all threads' deliveries.
          waitFor(() => Atomics.load(tally, RECEIVED) >= Atomics.load(tally, EXPECTED), plan.graceMs, "updates to arrive").then(report, report);
        }, Math.max(0, message.at - clock()));
        break;
      }
      case "close":
        for (const stop of stops) stop();
        for (const client of clients) client.destroy();
        post({ type: "closed" });
        port.close();
        break;
    }
  });
}

if (parentPort) void main(workerData as ClientsPlan, parentPort);
