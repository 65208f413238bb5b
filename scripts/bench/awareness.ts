/**
 * Benchmark "awareness": presence fan-out with real providers, one WebSocket per client.
 *
 * In every room some clients are writers: each sets its awareness state ({ user, pointer, s: sequence,
 * t: performance.now() }, `user` as a real editor client publishes it) at 20 Hz from a random phase
 * of its period; every other client of the room (writers included) measures, on its own Awareness `update` event, the latency from the
 * writer's setLocalState to its own copy — clients share this process's clock. Workloads: 20 rooms
 * × 10 clients with 3 writers, 100 rooms × 10 with 2 writers, one room of 200 clients with 2
 * writers. Servers: SyncForge (access tokens, identity stamping, client-id ownership, throttling
 * on; Hocuspocus providers on /collab, and stock y-websocket providers on /yjs), bare
 * @hocuspocus/server 4.7 and the bare y-websocket server (@y/websocket-server). Every
 * y-websocket provider has `disableBc: true`.
 *
 * Figures over the window (after a warm-up): latency p50/p99/max over every delivery, delivered =
 * deliveries / (writes × (room size − 1)), server CPU per delivered update, server RSS.
 *
 * The flood table: the 20 × 10 workload plus one more room of 10 listening clients and a flooding
 * client (lib/flooder.ts, its own process) that sends 1,000 awareness updates a second. It reports
 * the other rooms' latency next to the same run without that room, next to the same run with that
 * room's client sending at SyncForge's limit (60/s) — so what the flood itself costs the others
 * shows apart from the cost of one more busy room — and how many of the flooder's updates per
 * second each client in its room receives.
 */
import * as Y from "yjs";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import type { Awareness } from "y-protocols/awareness";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { connectClient, sleep, waitFor } from "./lib/clients.ts";
import { CpuMeter, ROOT, readMachineBusyMicros, selfCpuMicros } from "./lib/proc.ts";
import { percentile } from "./lib/stats.ts";
import { startPaced } from "./lib/pace.ts";
import { fmt, formatTable, percent, ratio, type Table } from "./lib/table.ts";
import { TARGETS, startPlainServer, type RunningTarget, type Target } from "./lib/targets.ts";
import { colorForUser } from "../../client/core/colors.ts";

const HZ = 20;
const WARMUP_MS = 2000;
const GRACE_MS = 2000;
const FLOOD_PER_SECOND = 1000;
/** SyncForge's default AWARENESS_UPDATES_PER_SECOND: the same room, its client sending at the limit. */
const AT_LIMIT_PER_SECOND = 60;

interface Workload {
  key: string;
  label: string;
  rooms: number;
  clientsPerRoom: number;
  writersPerRoom: number;
}

// The largest last: on a busy machine it is the one most likely to run out of time.
const WORKLOADS: Workload[] = [
  { key: "20x10", label: "20 rooms × 10 clients, 3 writers", rooms: 20, clientsPerRoom: 10, writersPerRoom: 3 },
  { key: "1x200", label: "1 room × 200 clients, 2 writers", rooms: 1, clientsPerRoom: 200, writersPerRoom: 2 },
  { key: "100x10", label: "100 rooms × 10 clients, 2 writers", rooms: 100, clientsPerRoom: 10, writersPerRoom: 2 },
];

type ClientKind = "hocuspocus" | "y-websocket";

interface Server {
  key: string;
  label: string;
  clients: ClientKind;
  target: Target;
}

const BARE_Y_WEBSOCKET: Target = {
  key: "bare-y-websocket",
  label: "bare y-websocket",
  persists: false,
  start: () =>
    startPlainServer(BARE_Y_WEBSOCKET, {
      script: "scripts/bench/servers/bare-y-websocket.ts",
      portPattern: /listening \{"port":(\d+)\}/,
      url: (port) => `ws://127.0.0.1:${port}`,
    }),
};

const SERVERS: Server[] = [
  { key: "syncforge", label: "SyncForge /collab (Hocuspocus providers)", clients: "hocuspocus", target: TARGETS["syncforge-sqlite"] },
  { key: "syncforge-yjs", label: "SyncForge /yjs (y-websocket providers)", clients: "y-websocket", target: TARGETS["syncforge-sqlite"] },
  { key: "bare-hocuspocus", label: "bare Hocuspocus 4.7", clients: "hocuspocus", target: TARGETS["bare-hocuspocus"] },
  { key: "bare-y-websocket", label: "bare y-websocket", clients: "y-websocket", target: BARE_Y_WEBSOCKET },
];

interface Client {
  awareness: Awareness;
  clientId: number;
  destroy(): void;
}

async function connect(kind: ClientKind, running: RunningTarget, room: string, userId: string): Promise<Client> {
  if (kind === "hocuspocus") {
    const c = await connectClient(running.url, room, await running.token(userId));
    return { awareness: c.provider.awareness!, clientId: c.doc.clientID, destroy: () => c.destroy() };
  }
  // Every y-websocket provider adds a process "exit" listener in Node; hundreds of them are expected here.
  if (process.getMaxListeners() !== 0) process.setMaxListeners(0);
  const doc = new Y.Doc();
  const url = running.url.endsWith("/collab") ? running.url.replace(/\/collab$/, "/yjs") : running.url;
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token: await running.token(userId) },
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

interface AwarenessFigures extends Figures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  delivered: number;
  deliveriesPerSecond: number;
  serverCpuMicrosPerDelivery: number;
  rssMiB: number;
  /** The server process's CPU over the window, in % of one core. */
  serverCpuPercent: number;
  clientCpuPercent: number;
  otherCpuPercent: number;
  /** Flood runs only: the flooder's updates per second each client of its room received. */
  floodReceivedPerSecond: number;
  floodSentPerSecond: number;
  /** 1 when the run could not connect its clients. */
  failed: number;
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

/** Set `awareness`'s state every `intervalMs` from `phaseMs` on; late slots are skipped, not burst. */
function startWriter(awareness: Awareness, user: WriterUser, intervalMs: number, phaseMs: number, onWrite: (t: number) => void): () => void {
  let seq = 0;
  return startPaced(intervalMs, phaseMs, () => {
    const t = performance.now();
    awareness.setLocalState({ user, pointer: { x: seq % 800, y: seq % 600 }, s: seq, t });
    onWrite(t);
    seq += 1;
  });
}

async function measure(server: Server, running: RunningTarget, workload: Workload, durationMs: number, floodRate: number): Promise<AwarenessFigures> {
  const flood = floodRate > 0;
  const runId = Math.random().toString(36).slice(2, 8);
  const clients: Client[] = [];
  const stops: Array<() => void> = [];
  const latencies: number[] = [];
  let window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };
  const inWindow = (t: number) => t >= window.start && t < window.end;
  let expected = 0;
  let floodReceived = 0;
  let floodReceivers = 0;
  let flooder: ChildProcess | null = null;
  // Writers start once every client is connected, so connecting never competes with the load.
  const starts: Array<() => () => void> = [];
  const intervalMs = 1000 / HZ;

  const listen = (client: Client, room: Client[], onDelivery: (t: number, from: number) => void) => {
    const last = new Map<number, number>();
    client.awareness.on("update", ({ added, updated }: { added: number[]; updated: number[] }) => {
      const now = performance.now();
      for (const id of added.concat(updated)) {
        if (id === client.clientId) continue;
        const state = client.awareness.getStates().get(id) as { s?: number; t?: number } | undefined;
        if (state?.s === undefined || state.t === undefined || state.s <= (last.get(id) ?? -1)) continue;
        last.set(id, state.s);
        onDelivery(state.t, id);
      }
    });
    room.push(client);
  };

  try {
    const rooms = workload.rooms + (flood ? 1 : 0);
    for (let r = 0; r < rooms; r += 1) {
      const isFloodRoom = r === workload.rooms;
      const name = `aw-${runId}-${r}`;
      const room: Client[] = [];
      const batch: Promise<Client>[] = [];
      for (let c = 0; c < workload.clientsPerRoom; c += 1) batch.push(connect(server.clients, running, name, `u-${r}-${c}`));
      const connected = await Promise.all(batch.map((p) => p.catch((error: Error) => error)));
      const failed = connected.find((c): c is Error => c instanceof Error);
      if (failed) {
        for (const c of connected) if (!(c instanceof Error)) c.destroy();
        throw failed;
      }
      for (const client of connected as Client[]) {
        clients.push(client);
        if (isFloodRoom) {
          // The flooder's stamps come from another process's clock: count by arrival time.
          floodReceivers += 1;
          listen(client, room, () => inWindow(performance.now()) && (floodReceived += 1));
        } else {
          listen(client, room, (t) => inWindow(t) && latencies.push(performance.now() - t));
        }
      }
      if (isFloodRoom) {
        // A separate process, so the flood costs the server, not the measured clients' process.
        const url = running.url.endsWith("/collab") ? running.url : `${running.url}/`;
        const token = await running.token("flooder");
        starts.push(() => {
          flooder = spawn(process.execPath, [path.join(ROOT, "scripts/bench/lib/flooder.ts"), url, name, token, String(floodRate)], {
            stdio: ["ignore", "pipe", "inherit"],
          });
          return () => {};
        });
      } else {
        for (let w = 0; w < workload.writersPerRoom; w += 1) {
          const writer = room[w]!;
          const userId = `u-${r}-${w}`;
          const user: WriterUser = { id: userId, name: userId, color: colorForUser(userId) };
          starts.push(() => startWriter(writer.awareness, user, intervalMs, Math.random() * intervalMs, (t) => inWindow(t) && (expected += workload.clientsPerRoom - 1)));
        }
      }
    }

    for (const start of starts) stops.push(start());
    await sleep(WARMUP_MS);
    const serverCpu = new CpuMeter(() => [running.server.pid]);
    await serverCpu.start();
    const clientCpuBefore = selfCpuMicros();
    const machineBefore = readMachineBusyMicros();
    window = { start: performance.now(), end: Number.POSITIVE_INFINITY };
    await sleep(durationMs);
    window = { start: window.start, end: performance.now() };
    const cpu = await serverCpu.stop();
    const clientCpu = selfCpuMicros() - clientCpuBefore;
    const machine = readMachineBusyMicros() - machineBefore;
    const memory = running.memory();
    for (const stop of stops) stop();
    stops.length = 0;
    const floodSent = flooder ? await stopFlooder(flooder) : null;
    flooder = null;
    await waitFor(() => latencies.length >= expected, GRACE_MS, "updates to arrive").catch(() => undefined);
    const seconds = cpu.wallMs / 1000;
    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
      delivered: expected > 0 ? latencies.length / expected : Number.NaN,
      deliveriesPerSecond: latencies.length / seconds,
      serverCpuMicrosPerDelivery: cpu.cpuMicros / Math.max(1, latencies.length + floodReceived),
      rssMiB: memory ? memory.rss / 2 ** 20 : Number.NaN,
      serverCpuPercent: (cpu.cpuMicros / 1000 / cpu.wallMs) * 100,
      clientCpuPercent: (clientCpu / 1000 / cpu.wallMs) * 100,
      otherCpuPercent: (Math.max(0, machine - cpu.cpuMicros - clientCpu) / 1000 / cpu.wallMs) * 100,
      floodReceivedPerSecond: flood ? floodReceived / Math.max(1, floodReceivers) / seconds : Number.NaN,
      floodSentPerSecond: floodSent ? floodSent.sent / floodSent.seconds : Number.NaN,
      failed: 0,
    };
  } finally {
    for (const stop of stops) stop();
    if (flooder) await stopFlooder(flooder).catch(() => null);
    for (const client of clients) client.destroy();
  }
}

/** SIGTERM the flooder; resolves what it says it sent. */
function stopFlooder(child: ChildProcess): Promise<{ sent: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.once("exit", () => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as { sent: number; seconds: number });
      } catch {
        reject(new Error(`flooder said: ${out}`));
      }
    });
    child.kill("SIGTERM");
  });
}

interface Scenario {
  key: string;
  label: string;
  server: Server;
  workload: Workload;
  /** Updates/s the client of one more room sends (lib/flooder.ts); 0: no such room. */
  floodRate: number;
}

/** One run; a run that cannot even connect its clients (an overloaded server) is logged and left out. */
async function runScenario(scenario: Scenario, durationMs: number, context: BenchContext): Promise<AwarenessFigures> {
  const running = await scenario.server.target.start();
  try {
    let figures: AwarenessFigures;
    try {
      figures = await measure(scenario.server, running, scenario.workload, durationMs, scenario.floodRate);
    } catch (error) {
      context.log(`  ${scenario.label}: FAILED (${(error as Error).message}); this run counts as missing`);
      return failedRun();
    }
    context.log(
      `  ${scenario.label}: p50 ${fmt(figures.p50Ms, 2)} ms, p99 ${fmt(figures.p99Ms, 2)} ms, delivered ${percent(figures.delivered)}, ` +
        `${fmt(figures.serverCpuMicrosPerDelivery, 1)} µs/delivery` +
        (scenario.floodRate > 0 ? `, flood ${fmt(figures.floodSentPerSecond)}/s sent, ${fmt(figures.floodReceivedPerSecond, 1)}/s received per client` : ""),
    );
    return figures;
  } finally {
    await running.stop();
  }
}

function failedRun(): AwarenessFigures {
  const nan = Number.NaN;
  return {
    p50Ms: nan, p99Ms: nan, maxMs: nan, delivered: nan, deliveriesPerSecond: nan, serverCpuMicrosPerDelivery: nan, rssMiB: nan,
    serverCpuPercent: nan, clientCpuPercent: nan, otherCpuPercent: nan, floodReceivedPerSecond: nan, floodSentPerSecond: nan, failed: 1,
  };
}

const awareness: Benchmark = {
  name: "awareness",
  description: "presence fan-out with real providers: SyncForge vs bare Hocuspocus vs bare y-websocket; and a 1,000/s flooder",
  async run(context: BenchContext) {
    const durationMs = context.seconds ? context.seconds * 1000 : context.quick ? 4000 : 10_000;
    const servers = context.servers.length === 0 ? SERVERS : SERVERS.filter((s) => context.servers.includes(s.key) || context.servers.includes(s.target.key));
    const tables: Table[] = [];
    const data: Record<string, unknown> = { parameters: { hz: HZ, warmupMs: WARMUP_MS, durationMs, rounds: context.rounds, workloads: WORKLOADS, floodPerSecond: FLOOD_PER_SECOND } };

    const runFlood = async () => {
      const floodServers = servers.filter((s) => s.key === "syncforge" || s.key === "bare-hocuspocus");
      if (floodServers.length > 0) {
        const workload = WORKLOADS[0]!;
        const scenarios: Scenario[] = floodServers.flatMap((server) => [
          { key: `${server.key}-calm`, label: `${server.label}, ${workload.key} without flooder`, server, workload, floodRate: 0 },
          { key: `${server.key}-at-limit`, label: `${server.label}, ${workload.key} + room sending ${AT_LIMIT_PER_SECOND}/s`, server, workload, floodRate: AT_LIMIT_PER_SECOND },
          { key: `${server.key}-flood`, label: `${server.label}, ${workload.key} + flooder room`, server, workload, floodRate: FLOOD_PER_SECOND },
        ]);
        const results = await runInterleaved<Scenario, AwarenessFigures>(context, scenarios, (s) => runScenario(s, durationMs, context));
        tables.push({
          title: `awareness flood — ${workload.label} plus one room of ${workload.clientsPerRoom} where one client sends ${FLOOD_PER_SECOND.toLocaleString("en-US")} updates/s, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
          columns: ["server / run", "other rooms p50 ms", "other rooms p99 ms", "delivered", "flooder sent/s", "flooder received/s per client", "server CPU µs/delivery", "server CPU %", "clients' CPU %", "others' CPU %"],
          rows: results.map(({ label, median: m }) => [
            label,
            fmt(m.p50Ms, 2),
            fmt(m.p99Ms, 2),
            percent(m.delivered),
            fmt(m.floodSentPerSecond),
            fmt(m.floodReceivedPerSecond, 1),
            fmt(m.serverCpuMicrosPerDelivery, 1),
            fmt(m.serverCpuPercent),
            fmt(m.clientCpuPercent),
            fmt(m.otherCpuPercent),
          ]),
          notes: ["SyncForge limits each connection to AWARENESS_UPDATES_PER_SECOND (default 60), coalescing to the latest state"],
        });
        context.log(`\n${formatTable(tables[tables.length - 1]!)}\n`);
        data.flood = results;
      }
    };

    for (const workload of WORKLOADS) {
      const wanted = (key: string) => context.workloads.length === 0 || context.workloads.includes(key);
      if (workload.key === "100x10" && wanted("flood")) await runFlood();
      if (!wanted(workload.key)) continue;
      const scenarios: Scenario[] = servers.map((server) => ({ key: server.key, label: `${server.label}, ${workload.key}`, server, workload, floodRate: 0 }));
      const results = await runInterleaved<Scenario, AwarenessFigures>(context, scenarios, (s) => runScenario(s, durationMs, context));
      const hp = results.find((r) => r.key === "bare-hocuspocus")?.median;
      const yws = results.find((r) => r.key === "bare-y-websocket")?.median;
      tables.push({
        title: `awareness — ${workload.label} at ${HZ} Hz, ${durationMs / 1000} s window, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
        columns: ["server", "p50 ms", "p99 ms", "max ms", "delivered", "deliveries/s", "server CPU µs/delivery", "RSS MiB", "p99 vs bare HP", "p99 vs bare y-ws", "CPU vs bare HP", "clients' CPU %", "others' CPU %"],
        rows: results.map(({ label, median: m }) => [
          label,
          fmt(m.p50Ms, 2),
          fmt(m.p99Ms, 2),
          fmt(m.maxMs, 1),
          percent(m.delivered),
          fmt(m.deliveriesPerSecond),
          fmt(m.serverCpuMicrosPerDelivery, 1),
          fmt(m.rssMiB),
          ratio(m.p99Ms, hp?.p99Ms),
          ratio(m.p99Ms, yws?.p99Ms),
          ratio(m.serverCpuMicrosPerDelivery, hp?.serverCpuMicrosPerDelivery),
          fmt(m.clientCpuPercent),
          fmt(m.otherCpuPercent),
        ]),
        notes: [
          "clients' CPU % = the benchmark process running every provider, in % of one core; others' = every other process on the machine (2 cores in all)",
          ...results.filter((r) => r.runs.some((f) => f.failed === 1)).map((r) => `WARNING ${r.label}: ${r.runs.filter((f) => f.failed === 1).length} run(s) could not connect all clients (left out of the medians)`),
        ],
      });
      context.log(`\n${formatTable(tables[tables.length - 1]!)}\n`);
      data[workload.key] = results;
    }

    return { tables, data };
  },
};

export default awareness;
