/**
 * Benchmark "idle-memory": what each idle, synced connection costs a server in memory. Issue 18's
 * target: at 5,000 connections over 500 rooms (10 per room), server RSS per connection at most
 * 30 KiB and at most 0.75 × bare Hocuspocus' in the same run, on SQLite and on PostgreSQL; stretch:
 * no more than bare y-websocket.
 *
 * Per configuration a fresh server. Its memory is read before any client connects, then 5,000 real
 * providers connect in parallel batches (@hocuspocus/provider for SyncForge /collab and bare
 * Hocuspocus, y-websocket's WebsocketProvider with disableBc for SyncForge /yjs and bare y-websocket),
 * each synced and with the awareness state a real editor sets (`user: { name, color }`); once every
 * client sees all ten states of its room they are left idle (providers renew their state every
 * 15 s, as in a browser) and the memory is read again. Both readings are taken right after two full
 * garbage collections in the server (lib/memory-probe.ts, preloaded with --expose-gc into every
 * server alike), so they count what the server holds, not garbage it had yet to collect.
 *
 * Figures: KiB per connection = (after − before) / connections, of RSS and of the V8 heap in use;
 * their ratios to bare Hocuspocus and bare y-websocket measured in the same round.
 */
import { pathToFileURL } from "node:url";
import path from "node:path";
import * as Y from "yjs";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import type { Awareness } from "y-protocols/awareness";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { sleep } from "./lib/clients.ts";
import { CpuMeter, ROOT, type ServerProcess } from "./lib/proc.ts";
import { median } from "./lib/stats.ts";
import { fmt, type Table } from "./lib/table.ts";
import { TARGETS, startPlainServer, type RunningTarget, type Target } from "./lib/targets.ts";
import { colorForUser } from "../../protocol/colors.ts";

const ROOMS = 500;
const CLIENTS_PER_ROOM = 10;
/** Connections opened at once: whole rooms, so a batch's rooms complete together. */
const BATCH = 200;
const CONNECT_TIMEOUT_MS = 120_000;
const AWARENESS_TIMEOUT_MS = 120_000;

type ClientKind = "hocuspocus" | "y-websocket";

interface Configuration {
  key: string;
  label: string;
  clients: ClientKind;
  start(env: Record<string, string>): Promise<RunningTarget>;
  /** Run when `--servers` names no configuration. */
  byDefault: boolean;
}

const BARE_Y_WEBSOCKET: Target = {
  key: "bare-y-websocket",
  label: "bare y-websocket",
  persists: false,
  start: (env) =>
    startPlainServer(BARE_Y_WEBSOCKET, {
      script: "scripts/bench/servers/bare-y-websocket.ts",
      portPattern: /listening \{"port":(\d+)\}/,
      url: (port) => `ws://127.0.0.1:${port}`,
      env,
    }),
};

const BARE_HOCUSPOCUS: Target = {
  ...TARGETS["bare-hocuspocus"],
  // The shared target ignores `env`; the probe must reach this server too.
  start: (env) =>
    startPlainServer(BARE_HOCUSPOCUS, {
      script: "scripts/bench/servers/bare-hocuspocus.ts",
      portPattern: /listening \{"port":(\d+)\}/,
      url: (port) => `ws://127.0.0.1:${port}`,
      env,
    }),
};

const CONFIGURATIONS: Configuration[] = [
  { key: "syncforge-postgres", label: "SyncForge (PostgreSQL)", clients: "hocuspocus", start: (env) => TARGETS["syncforge-postgres"].start(env), byDefault: true },
  { key: "syncforge-sqlite", label: "SyncForge (SQLite)", clients: "hocuspocus", start: (env) => TARGETS["syncforge-sqlite"].start(env), byDefault: true },
  {
    // Not as shipped: V8 grows a busy server's young generation to 64 MiB semi-spaces (≈ 130 MiB
    // committed) and keeps it; this shows what capping it would save, for a decision on `npm start`.
    key: "syncforge-sqlite-semi16",
    label: "SyncForge (SQLite), --max-semi-space-size=16",
    clients: "hocuspocus",
    start: (env) => TARGETS["syncforge-sqlite"].start({ ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ""} --max-semi-space-size=16`.trim() }),
    byDefault: false,
  },
  { key: "syncforge-yjs", label: "SyncForge (SQLite) /yjs, y-websocket providers", clients: "y-websocket", start: (env) => TARGETS["syncforge-sqlite"].start(env), byDefault: false },
  { key: "bare-hocuspocus", label: "bare Hocuspocus", clients: "hocuspocus", start: (env) => BARE_HOCUSPOCUS.start(env), byDefault: true },
  { key: "bare-y-websocket", label: "bare y-websocket", clients: "y-websocket", start: (env) => BARE_Y_WEBSOCKET.start(env), byDefault: true },
];

interface MemoryFigures extends Figures {
  rssKiBPerConnection: number;
  heapKiBPerConnection: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers, typed arrays), per connection. */
  externalKiBPerConnection: number;
  /** The V8 heap's committed size, per connection: used plus what V8 keeps for growth. */
  heapTotalKiBPerConnection: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  connectSeconds: number;
  /** From the last client synced to the server quiet (QUIET_CPU_PERCENT), when memory is read. */
  settleSeconds: number;
  disconnects: number;
  /** 1 when the run could not connect every client. */
  failed: number;
}

interface MemoryReading {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** Physical bytes of each V8 space. */
  spaces: Record<string, number>;
  collected: boolean;
}

const PROBE_LINE = /memory-probe (\{.*\})/;
/** With MEMORY_PROBE_SNAPSHOT_DIR, the line that follows once the heap snapshot is written. */
const SNAPSHOT_LINE = /memory-probe-snapshot (\{.*\})/;

/** Node flags that load the probe into a server (NODE_OPTIONS: the servers are started by the harness). */
function probeEnv(): Record<string, string> {
  const probe = pathToFileURL(path.join(ROOT, "scripts/bench/lib/memory-probe.ts")).href;
  const env: Record<string, string> = { NODE_OPTIONS: `--expose-gc --import="${probe}"` };
  // BENCH_HEAP_SNAPSHOT_DIR=<dir>: each server also writes a heap snapshot at each reading (slow).
  if (process.env.BENCH_HEAP_SNAPSHOT_DIR) env.MEMORY_PROBE_SNAPSHOT_DIR = path.resolve(process.env.BENCH_HEAP_SNAPSHOT_DIR);
  return env;
}

/** Ask the server's probe for its memory after a full collection; resolves its next report. */
function probeMemory(server: ServerProcess): Promise<MemoryReading> {
  const snapshots = process.env.BENCH_HEAP_SNAPSHOT_DIR !== undefined;
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (data: Buffer) => {
      text += data.toString("utf8");
      const match = PROBE_LINE.exec(text);
      if (!match || (snapshots && !SNAPSHOT_LINE.test(text))) return;
      done();
      resolve(JSON.parse(match[1]!) as MemoryReading);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("the server's memory probe did not answer in time"));
    }, snapshots ? 300_000 : 60_000);
    const done = () => {
      clearTimeout(timer);
      server.child.stdout!.off("data", onData);
    };
    server.child.stdout!.on("data", onData);
    server.child.kill("SIGWINCH");
  });
}

interface IdleClient {
  awareness: Awareness;
  disconnects(): number;
  destroy(): void;
}

/** Resolve once `ready` holds, checked whenever `subscribe` calls back; reject after the timeout (or when `ready` throws). */
function whenReady(subscribe: (check: () => void) => () => void, ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      unsubscribe();
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      try {
        if (ready()) finish();
      } catch (error) {
        finish(error as Error);
      }
    };
    timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
    unsubscribe = subscribe(check);
    check();
  });
}

/** A Hocuspocus provider, synced, with its user's awareness state set. */
async function connectHocuspocus(url: string, room: string, token: string, userId: string): Promise<IdleClient> {
  const doc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({ url, delay: 200, minDelay: 200, maxDelay: 1000 });
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: room, token, document: doc });
  let connected = false;
  let disconnects = 0;
  let failure: string | null = null;
  socket.on("connect", () => (connected = true));
  socket.on("disconnect", () => {
    if (connected) disconnects += 1;
  });
  provider.on("authenticationFailed", ({ reason }: { reason: string }) => (failure = reason));
  provider.attach();
  const destroy = () => {
    provider.destroy();
    socket.destroy();
    doc.destroy();
  };
  try {
    await whenReady(
      (check) => {
        provider.on("synced", check);
        provider.on("authenticationFailed", check);
        return () => {
          provider.off("synced", check);
          provider.off("authenticationFailed", check);
        };
      },
      () => {
        if (failure) throw new Error(`authentication failed: ${failure}`);
        return provider.isSynced;
      },
      `a client of ${room} to sync`,
      CONNECT_TIMEOUT_MS,
    );
  } catch (error) {
    destroy();
    throw error;
  }
  provider.setAwarenessField("user", { name: userId, color: colorForUser(userId) });
  return { awareness: provider.awareness!, disconnects: () => disconnects, destroy };
}

/** A y-websocket provider (disableBc), synced, with its user's awareness state set. */
async function connectYWebsocket(url: string, room: string, token: string, userId: string): Promise<IdleClient> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token },
  });
  let connected = false;
  let disconnects = 0;
  provider.on("status", ({ status }: { status: string }) => {
    if (status === "connected") connected = true;
    else if (status === "disconnected" && connected) disconnects += 1;
  });
  const destroy = () => {
    provider.destroy();
    doc.destroy();
  };
  try {
    await whenReady(
      (check) => {
        provider.on("sync", check);
        return () => provider.off("sync", check);
      },
      () => provider.synced,
      `a y-websocket client of ${room} to sync`,
      CONNECT_TIMEOUT_MS,
    );
  } catch (error) {
    destroy();
    throw error;
  }
  provider.awareness.setLocalStateField("user", { name: userId, color: colorForUser(userId) });
  return { awareness: provider.awareness, disconnects: () => disconnects, destroy };
}

function clientUrl(configuration: Configuration, running: RunningTarget): string {
  // SyncForge's y-websocket endpoint is /yjs/<room>; the provider appends "/<room>" itself.
  if (configuration.clients === "y-websocket" && running.url.endsWith("/collab")) return running.url.replace(/\/collab$/, "/yjs");
  return running.url;
}

/** Open every client, a batch of whole rooms at a time; then wait until every client sees its whole room. */
async function connectAll(configuration: Configuration, running: RunningTarget, rooms: number, runId: string, clients: IdleClient[]): Promise<void> {
  if (configuration.clients === "y-websocket" && process.getMaxListeners() !== 0) {
    // Every y-websocket provider adds a process "exit" listener in Node; thousands are expected here.
    process.setMaxListeners(0);
  }
  const url = clientUrl(configuration, running);
  const connect = configuration.clients === "hocuspocus" ? connectHocuspocus : connectYWebsocket;
  const plan: Array<{ room: string; userId: string }> = [];
  for (let r = 0; r < rooms; r += 1) {
    for (let c = 0; c < CLIENTS_PER_ROOM; c += 1) plan.push({ room: `idle-${runId}-${r}`, userId: `u-${r}-${c}` });
  }
  for (let i = 0; i < plan.length; i += BATCH) {
    const batch = plan.slice(i, i + BATCH);
    const opened = await Promise.all(
      batch.map(async ({ room, userId }) => connect(url, room, await running.token(userId), userId).catch((error: Error) => error)),
    );
    const failed = opened.find((c): c is Error => c instanceof Error);
    for (const c of opened) if (!(c instanceof Error)) clients.push(c);
    if (failed) throw failed;
  }
  await whenReady(
    (check) => {
      const timer = setInterval(check, 250);
      return () => clearInterval(timer);
    },
    () => clients.every((c) => c.awareness.getStates().size >= CLIENTS_PER_ROOM),
    "every client to see its room's awareness states",
    AWARENESS_TIMEOUT_MS,
  );
}

/** A server counts as idle once a QUIET_WINDOW_MS window of its CPU stays under QUIET_CPU_PERCENT of a core. */
const QUIET_WINDOW_MS = 1000;
const QUIET_CPU_PERCENT = 10;
const QUIET_TIMEOUT_MS = 120_000;

/**
 * Wait `minMs`, then until the server is quiet: what joining started may still run after every
 * client is synced (SyncForge writes each user's first join to the activity log), and memory read
 * meanwhile would count that backlog as the cost of idle connections. Resolves the seconds waited,
 * or null when the server never quieted down.
 */
async function settle(running: RunningTarget, minMs: number): Promise<number | null> {
  const started = performance.now();
  await sleep(minMs);
  const meter = new CpuMeter(() => [running.server.pid]);
  while (performance.now() - started < QUIET_TIMEOUT_MS) {
    await meter.start();
    await sleep(QUIET_WINDOW_MS);
    const { cpuMicros, wallMs } = await meter.stop();
    const percent = (cpuMicros / 1000 / wallMs) * 100;
    if (process.env.IDLE_TRACE) process.stderr.write(`    cpu ${percent.toFixed(1)}%\n`);
    if (percent < QUIET_CPU_PERCENT) return (performance.now() - started) / 1000;
  }
  return null;
}

async function measure(configuration: Configuration, rooms: number, settleMs: number, context: BenchContext): Promise<MemoryFigures> {
  const connections = rooms * CLIENTS_PER_ROOM;
  const running = await configuration.start(probeEnv());
  const clients: IdleClient[] = [];
  try {
    await settle(running, settleMs);
    const before = await probeMemory(running.server);
    if (!before.collected) throw new Error("the server's memory probe runs without --expose-gc");
    const started = performance.now();
    await connectAll(configuration, running, rooms, Math.random().toString(36).slice(2, 8), clients);
    const connectSeconds = (performance.now() - started) / 1000;
    const quietAfter = await settle(running, settleMs);
    if (quietAfter === null) context.log(`  ${configuration.label}: WARNING the server did not quiet down within ${QUIET_TIMEOUT_MS / 1000} s; measured anyway`);
    const after = await probeMemory(running.server);
    const kib = (bytes: number) => bytes / 1024 / connections;
    const figures: MemoryFigures = {
      rssKiBPerConnection: kib(after.rss - before.rss),
      heapKiBPerConnection: kib(after.heapUsed - before.heapUsed),
      externalKiBPerConnection: kib(after.external - before.external),
      heapTotalKiBPerConnection: kib(after.heapTotal - before.heapTotal),
      rssBeforeMiB: before.rss / 2 ** 20,
      rssAfterMiB: after.rss / 2 ** 20,
      connectSeconds,
      settleSeconds: quietAfter ?? Number.NaN,
      disconnects: clients.reduce((sum, c) => sum + c.disconnects(), 0),
      failed: 0,
    };
    context.log(
      `  ${configuration.label}: ${fmt(figures.rssKiBPerConnection, 1)} KiB RSS, ${fmt(figures.heapKiBPerConnection, 1)} KiB heap per connection; ` +
        `connected in ${fmt(connectSeconds, 1)} s, ${figures.disconnects} disconnects, ${running.server.errorLines()} server error lines`,
    );
    for (const line of running.server.errorSamples()) context.log(`    server: ${line}`);
    const spaces = Object.keys(after.spaces)
      .map((name) => `${name} ${fmt(((after.spaces[name] ?? 0) - (before.spaces[name] ?? 0)) / 1024 / connections, 1)}`)
      .join(", ");
    context.log(`    V8 spaces, physical KiB per connection: ${spaces}`);
    return figures;
  } finally {
    for (const client of clients) client.destroy();
    await running.stop();
  }
}

function failedRun(): MemoryFigures {
  const nan = Number.NaN;
  return {
    rssKiBPerConnection: nan, heapKiBPerConnection: nan, externalKiBPerConnection: nan, heapTotalKiBPerConnection: nan,
    rssBeforeMiB: nan, rssAfterMiB: nan, connectSeconds: nan, settleSeconds: nan, disconnects: nan, failed: 1,
  };
}

const idleMemory: Benchmark = {
  name: "idle-memory",
  description: "server memory per idle, synced connection: 5,000 connections over 500 rooms, vs bare Hocuspocus and bare y-websocket",
  async run(context: BenchContext) {
    const rooms = ROOMS;
    const settleMs = context.quick ? 2000 : 5000;
    const selected =
      context.servers.length === 0 ? CONFIGURATIONS.filter((c) => c.byDefault) : CONFIGURATIONS.filter((c) => context.servers.includes(c.key));
    const results = await runInterleaved<Configuration, MemoryFigures>(context, selected, async (c) => {
      try {
        return await measure(c, rooms, settleMs, context);
      } catch (error) {
        // A run that cannot connect every client (a busy machine) is left out, not the whole benchmark.
        context.log(`  ${c.label}: FAILED (${(error as Error).message}); this run counts as missing`);
        return failedRun();
      }
    });
    const hp = results.find((r) => r.key === "bare-hocuspocus")?.median;
    const yws = results.find((r) => r.key === "bare-y-websocket")?.median;
    // Ratios of each round's figures, then their median: the same round's baseline ran next to it.
    const roundRatio = (key: string, baseline: string, field: "rssKiBPerConnection" | "heapKiBPerConnection") => {
      const mine = results.find((r) => r.key === key)?.runs ?? [];
      const base = results.find((r) => r.key === baseline)?.runs ?? [];
      const value = median(mine.map((m, i) => (base[i] ? m[field] / base[i][field] : Number.NaN)));
      return Number.isFinite(value) ? `${value.toFixed(2)}×` : "–";
    };
    const connections = rooms * CLIENTS_PER_ROOM;
    const table: Table = {
      title: `idle-memory — ${connections.toLocaleString("en-US")} idle, synced connections over ${rooms} rooms, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["server", "RSS KiB/conn", "heap KiB/conn", "heap committed KiB/conn", "external KiB/conn", "RSS vs bare HP", "RSS vs bare y-ws", "heap vs bare HP", "RSS before MiB", "RSS after MiB", "connect s", "settle s", "disconnects"],
      rows: results.map(({ key, label, median: m }) => [
        label,
        fmt(m.rssKiBPerConnection, 1),
        fmt(m.heapKiBPerConnection, 1),
        fmt(m.heapTotalKiBPerConnection, 1),
        fmt(m.externalKiBPerConnection, 1),
        hp ? roundRatio(key, "bare-hocuspocus", "rssKiBPerConnection") : "–",
        yws ? roundRatio(key, "bare-y-websocket", "rssKiBPerConnection") : "–",
        hp ? roundRatio(key, "bare-hocuspocus", "heapKiBPerConnection") : "–",
        fmt(m.rssBeforeMiB),
        fmt(m.rssAfterMiB),
        fmt(m.connectSeconds, 1),
        fmt(m.settleSeconds, 1),
        fmt(m.disconnects),
      ]),
      notes: [
        "per connection = (after − before) / connections; both read after two full GCs in the server (scripts/bench/lib/memory-probe.ts)",
        "after = every client synced and seeing its room's 10 awareness states ({ user: { name, color } }), then idle; ratios are medians of per-round ratios",
        `issue 18 target: RSS ≤ 30 KiB per connection and ≤ 0.75× bare Hocuspocus, on SQLite and PostgreSQL; stretch ≤ bare y-websocket`,
        ...results.filter((r) => r.runs.some((f) => f.failed === 1)).map((r) => `WARNING ${r.label}: ${r.runs.filter((f) => f.failed === 1).length} run(s) could not connect every client (left out of the medians)`),
      ],
    };
    return { tables: [table], data: { rooms, clientsPerRoom: CLIENTS_PER_ROOM, connections, settleMs, results } };
  },
};

export default idleMemory;
