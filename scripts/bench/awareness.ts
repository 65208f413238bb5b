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
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { sleep } from "./lib/clients.ts";
import { clock, createTally, type ClientKind, type ClientsPlan, type FromClients, type RoomPlan, type ToClients } from "./lib/awareness-clients.ts";
import { CpuMeter, ROOT, readMachineBusyMicros, selfCpuMicros } from "./lib/proc.ts";
import { percentile } from "./lib/stats.ts";
import { fmt, formatTable, percent, ratio, type Table } from "./lib/table.ts";
import { TARGETS, startPlainServer, type RunningTarget, type Target } from "./lib/targets.ts";

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

/** Threads running the clients (lib/awareness-clients.ts); every room's clients are split over them. */
const CLIENT_THREADS = 2;
/** How long before a window bound the threads are told of it (they all must know it in time). */
const ANNOUNCE_MS = 100;

interface ClientThread {
  worker: Worker;
  /** The next message of the given type from this thread. */
  next<T extends FromClients["type"]>(type: T): Promise<Extract<FromClients, { type: T | "failed" }>>;
  send(message: ToClients): void;
}

function startClientThread(plan: ClientsPlan): ClientThread {
  const worker = new Worker(new URL("./lib/awareness-clients.ts", import.meta.url), { workerData: plan });
  const waiting = new Map<string, (message: FromClients) => void>();
  const early: FromClients[] = [];
  let failure: Error | null = null;
  const fail = (error: Error) => {
    failure = error;
    for (const resolve of waiting.values()) resolve({ type: "failed", message: error.message });
    waiting.clear();
  };
  worker.on("message", (message: FromClients) => {
    const resolve = waiting.get(message.type) ?? (message.type === "failed" ? [...waiting.values()][0] : undefined);
    if (resolve) {
      waiting.delete(message.type);
      resolve(message);
    } else early.push(message);
  });
  worker.on("error", fail);
  worker.on("exit", (code) => {
    if (code !== 0) fail(new Error(`client thread exited with ${code}`));
  });
  return {
    worker,
    next(type) {
      const index = early.findIndex((m) => m.type === type || m.type === "failed");
      if (index >= 0) return Promise.resolve(early.splice(index, 1)[0] as never);
      if (failure) return Promise.resolve({ type: "failed", message: (failure as Error).message } as never);
      return new Promise((resolve) => waiting.set(type, resolve as (message: FromClients) => void));
    },
    send: (message) => worker.postMessage(message),
  };
}

async function measure(server: Server, running: RunningTarget, workload: Workload, durationMs: number, floodRate: number): Promise<AwarenessFigures> {
  const flood = floodRate > 0;
  const runId = Math.random().toString(36).slice(2, 8);
  let flooder: ChildProcess | null = null;
  const threads: ClientThread[] = [];

  try {
    // Every room's clients are dealt over the threads (writers too), so a big room is not one
    // thread's queue.
    const plans: RoomPlan[][] = Array.from({ length: CLIENT_THREADS }, () => []);
    const roomCount = workload.rooms + (flood ? 1 : 0);
    let floodRoom: string | null = null;
    for (let r = 0; r < roomCount; r += 1) {
      const name = `aw-${runId}-${r}`;
      const isFlood = r === workload.rooms;
      if (isFlood) floodRoom = name;
      const parts: RoomPlan[] = plans.map(() => ({ name, size: workload.clientsPerRoom, clients: [], flood: isFlood }));
      for (let c = 0; c < workload.clientsPerRoom; c += 1) {
        const userId = `u-${r}-${c}`;
        parts[(r + c) % CLIENT_THREADS]!.clients.push({ userId, token: await running.token(userId), writer: c < workload.writersPerRoom });
      }
      parts.forEach((part, i) => part.clients.length > 0 && plans[i]!.push(part));
    }
    const tally = createTally();
    for (const rooms of plans) threads.push(startClientThread({ kind: server.clients, url: running.url, hz: HZ, graceMs: GRACE_MS, rooms, tally }));
    // Writers start once every client is connected, so connecting never competes with the load.
    for (const reply of await Promise.all(threads.map((t) => t.next("connected")))) {
      if (reply.type === "failed") throw new Error(reply.message);
    }
    for (const thread of threads) thread.send({ type: "start" });
    if (floodRoom) {
      // A separate process, so the flood costs the server, not the measured clients' process.
      const url = running.url.endsWith("/collab") ? running.url : `${running.url}/`;
      const token = await running.token("flooder");
      flooder = spawn(process.execPath, [path.join(ROOT, "scripts/bench/lib/flooder.ts"), url, floodRoom, token, String(floodRate)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
    }
    await sleep(WARMUP_MS - ANNOUNCE_MS);
    const windowStart = clock() + ANNOUNCE_MS;
    for (const thread of threads) thread.send({ type: "window-start", at: windowStart });
    await sleep(windowStart - clock());
    const serverCpu = new CpuMeter(() => [running.server.pid]);
    await serverCpu.start();
    const clientCpuBefore = selfCpuMicros();
    const machineBefore = readMachineBusyMicros();
    await sleep(durationMs - ANNOUNCE_MS);
    const windowEnd = clock() + ANNOUNCE_MS;
    for (const thread of threads) thread.send({ type: "window-end", at: windowEnd });
    await sleep(windowEnd - clock());
    const cpu = await serverCpu.stop();
    const clientCpu = selfCpuMicros() - clientCpuBefore;
    const machine = readMachineBusyMicros() - machineBefore;
    const memory = running.memory();
    const floodSent = flooder ? await stopFlooder(flooder) : null;
    flooder = null;
    const results = await Promise.all(threads.map((t) => t.next("result")));
    const latencies: number[] = [];
    let expected = 0;
    let floodReceived = 0;
    let floodReceivers = 0;
    for (const result of results) {
      if (result.type === "failed") throw new Error(result.message);
      for (const latency of result.latencies) latencies.push(latency);
      expected += result.expected;
      floodReceived += result.floodReceived;
      floodReceivers += result.floodReceivers;
    }
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
    if (flooder) await stopFlooder(flooder).catch(() => null);
    await Promise.all(
      threads.map(async (thread) => {
        thread.send({ type: "close" });
        const closed = await Promise.race([thread.next("closed"), sleep(10_000).then(() => null)]);
        if (!closed || closed.type !== "closed") await thread.worker.terminate();
      }),
    );
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
