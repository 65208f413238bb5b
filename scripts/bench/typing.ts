/**
 * Benchmark "typing": what the others in a room see while two people type (issue 18's shape).
 *
 * Many rooms of five clients each; in every room two of them type into a shared Y.Text at a steady
 * 30 keystrokes a second (a fast typist, held), with random phase offsets, and all five receive.
 * Every keystroke is one transaction that inserts the character and adds an entry
 * "<typist>:<sequence>" → { s: sequence, t: performance.now() } to a Y.Map — one key per keystroke,
 * not per typist, because Hocuspocus merges the updates that reach a document in one event-loop
 * turn into one broadcast, and a per-typist key would then keep only the last stamp of the merge.
 * Each receiving client — the three who only
 * listen and the other typist — which shares this process's clock, measures the latency from the
 * typist's local change to its own Y.Doc having it: client encode → socket → server (for
 * SyncForge: authenticate, log durably, apply) → broadcast → socket → receiver decode and apply.
 * A missed slot (event loop late) is skipped, not burst. SyncForge runs with its default rate
 * limits: 30 document messages a second per connection is under them.
 *
 * Figures over the measurement window (after a warm-up): latency p50/p99/max over every
 * (keystroke, receiver) pair, the fraction of those pairs that arrived, the server process's CPU
 * time per keystroke (and PostgreSQL's backends' for that configuration), the server's RSS and the
 * benchmark process's own CPU (to show the clients are not the bottleneck).
 */
import type * as Y from "yjs";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { connectClient, sleep, waitFor, type BenchClient } from "./lib/clients.ts";
import { CpuMeter, readMachineBusyMicros, selfCpuMicros } from "./lib/proc.ts";
import { percentile } from "./lib/stats.ts";
import { fmt, percent, ratio, type Table } from "./lib/table.ts";
import { selectTargets, type RunningTarget, type Target } from "./lib/targets.ts";
import { startPaced } from "./lib/pace.ts";

/** How many type where; comment-auth.ts reuses the measurement with a smaller shape. */
export interface TypingShape {
  rooms: number;
  clientsPerRoom: number;
  /** The first this many clients of a room type; every client receives. */
  typistsPerRoom: number;
  keystrokesPerSecond: number;
}

/** Issue 18's shape: 50 rooms × 5 clients, 2 of them typing at 30 Hz. */
const SHAPE: TypingShape = { rooms: 50, clientsPerRoom: 5, typistsPerRoom: 2, keystrokesPerSecond: 30 };
const WARMUP_MS = 2000;
const GRACE_MS = 3000;

interface Stamp {
  s: number;
  t: number;
}

interface TypingFigures extends Figures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Fraction of (keystroke typed in the window, receiving client) pairs that arrived. */
  delivered: number;
  typed: number;
  typedPerSecond: number;
  /** Keystrokes the server relayed in the window: (keystroke, receiver) arrivals in it / receivers per keystroke. */
  relayedPerSecond: number;
  /** Server CPU in the window per keystroke relayed in it (a server that falls behind relays fewer than are typed). */
  serverCpuMicrosPerUpdate: number;
  databaseCpuMicrosPerUpdate: number;
  rssMiB: number;
  /** CPU the server process used, as a percentage of one core. */
  serverCpuPercent: number;
  /** CPU the benchmark process (all clients) used, as a percentage of one core. */
  clientCpuPercent: number;
  /** CPU every other process on the machine used in the window, as a percentage of one core. */
  otherCpuPercent: number;
  converged: number;
  disconnects: number;
  /** Error or warning lines the server wrote during the run (a healthy run has none). */
  serverErrors: number;
}

/** Type into `doc` at `intervalMs` per character from `phaseMs` on; returns a stop function. */
function startTyping(doc: Y.Doc, key: string, phaseMs: number, intervalMs: number, onType: (stamp: Stamp) => void): () => void {
  const text = doc.getText("content");
  const stamps = doc.getMap<Stamp>("stamps");
  let seq = 0;
  return startPaced(intervalMs, phaseMs, () => {
    const stamp = { s: seq, t: performance.now() };
    doc.transact(() => {
      text.insert(text.length, String.fromCharCode(97 + (seq % 26)));
      stamps.set(`${key}:${seq}`, stamp);
    });
    onType(stamp);
    seq += 1;
  });
}

/** Connect one room's clients (in parallel: 250 one after another would take a while). */
async function connectRoom(running: RunningTarget, room: string, r: number, size: number): Promise<BenchClient[]> {
  const settled = await Promise.allSettled(
    Array.from({ length: size }, async (_, c) => connectClient(running.url, room, await running.token(`typing-${r}-${c}`))),
  );
  const clients = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failure = settled.find((s) => s.status === "rejected");
  if (failure) {
    for (const client of clients) client.destroy();
    throw failure.reason;
  }
  return clients;
}

export async function measureTyping(running: RunningTarget, durationMs: number, shape: TypingShape = SHAPE): Promise<TypingFigures> {
  const runId = Math.random().toString(36).slice(2, 8);
  const intervalMs = 1000 / shape.keystrokesPerSecond;
  const rooms: BenchClient[][] = [];
  const stops: Array<() => void> = [];
  const latencies: number[] = [];
  let window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };
  const inWindow = (t: number) => t >= window.start && t < window.end;
  let typedInWindow = 0;
  let arrivalsInWindow = 0;
  const typedPerRoom: number[] = new Array(shape.rooms).fill(0);
  const allClients = () => rooms.flat();
  const roomConverged = (r: number) => rooms[r]!.every((c) => c.doc.getText("content").length === typedPerRoom[r]);

  try {
    for (let r = 0; r < shape.rooms; r += 1) rooms.push(await connectRoom(running, `typing-${runId}-${r}`, r, shape.clientsPerRoom));

    for (const clients of rooms) {
      for (const [c, client] of clients.entries()) {
        // Every client receives; a typist skips its own keystrokes' entries.
        const own = c < shape.typistsPerRoom ? `t${c}:` : null;
        const stamps = client.doc.getMap<Stamp>("stamps");
        stamps.observe((event) => {
          const now = performance.now();
          for (const key of event.keysChanged) {
            if (own && key.startsWith(own)) continue;
            if (inWindow(now)) arrivalsInWindow += 1;
            const stamp = stamps.get(key);
            if (stamp && inWindow(stamp.t)) latencies.push(now - stamp.t);
          }
        });
      }
    }
    for (const [r, clients] of rooms.entries()) {
      for (let c = 0; c < shape.typistsPerRoom; c += 1) {
        stops.push(
          startTyping(clients[c]!.doc, `t${c}`, Math.random() * intervalMs, intervalMs, (stamp) => {
            typedPerRoom[r]! += 1;
            if (inWindow(stamp.t)) typedInWindow += 1;
          }),
        );
      }
    }

    await sleep(WARMUP_MS);
    const serverCpu = new CpuMeter(() => [running.server.pid]);
    const databaseCpu = new CpuMeter(() => running.databasePids());
    await databaseCpu.start();
    await serverCpu.start();
    const clientCpuBefore = selfCpuMicros();
    const machineBefore = readMachineBusyMicros();
    window = { start: performance.now(), end: Number.POSITIVE_INFINITY };
    await sleep(durationMs);
    window = { start: window.start, end: performance.now() };
    const server = await serverCpu.stop();
    const relayed = arrivalsInWindow / (shape.clientsPerRoom - 1);
    const clientCpu = selfCpuMicros() - clientCpuBefore;
    const machine = readMachineBusyMicros() - machineBefore;
    const database = await databaseCpu.stop();
    const memory = running.memory();
    for (const stop of stops) stop();
    stops.length = 0;

    // Let the keystrokes typed at the end of the window arrive; late ones count as not delivered.
    const expected = typedInWindow * (shape.clientsPerRoom - 1);
    await waitFor(() => latencies.length >= expected, GRACE_MS, "typing to arrive").catch(() => undefined);
    await waitFor(() => rooms.every((_, r) => roomConverged(r)), GRACE_MS, "clients to converge").catch(() => undefined);
    const converged = rooms.every((_, r) => roomConverged(r));

    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
      delivered: expected > 0 ? Math.min(latencies.length, expected) / expected : Number.NaN,
      typed: typedInWindow,
      typedPerSecond: typedInWindow / (server.wallMs / 1000),
      relayedPerSecond: relayed / (server.wallMs / 1000),
      serverCpuMicrosPerUpdate: server.cpuMicros / relayed,
      databaseCpuMicrosPerUpdate: running.target.key === "syncforge-postgres" ? database.cpuMicros / relayed : Number.NaN,
      rssMiB: memory ? memory.rss / 2 ** 20 : Number.NaN,
      serverCpuPercent: (server.cpuMicros / 1000 / server.wallMs) * 100,
      clientCpuPercent: (clientCpu / 1000 / server.wallMs) * 100,
      otherCpuPercent: (Math.max(0, machine - server.cpuMicros - database.cpuMicros - clientCpu) / 1000 / server.wallMs) * 100,
      converged: converged ? 1 : 0,
      disconnects: allClients().reduce((n, c) => n + c.disconnects(), 0),
      serverErrors: Number.NaN, // filled in once the server has stopped
    };
  } finally {
    for (const stop of stops) stop();
    for (const client of allClients()) client.destroy();
  }
}

const typing: Benchmark = {
  name: "typing",
  description: `${SHAPE.rooms} rooms × ${SHAPE.clientsPerRoom} clients, ${SHAPE.typistsPerRoom} typing at ${SHAPE.keystrokesPerSecond} Hz each: latency to every other client`,
  async run(context: BenchContext) {
    const durationMs = context.seconds ? context.seconds * 1000 : context.quick ? 5000 : 10_000;
    const results = await runInterleaved<Target, TypingFigures>(context, selectTargets(context.servers), async (target) => {
      const running = await target.start();
      let figures: TypingFigures;
      try {
        figures = await measureTyping(running, durationMs);
      } finally {
        await running.stop();
      }
      // Counted after the server stopped: compaction on shutdown logs its failures late.
      figures.serverErrors = running.server.errorLines();
      for (const line of running.server.errorSamples().slice(0, 2)) context.log(`  server: ${line}`);
      if (figures.serverErrors > 2) context.log(`  server: … ${figures.serverErrors} error/warning lines in all`);
      context.log(
        `  ${target.label}: p50 ${fmt(figures.p50Ms, 2)} ms, p99 ${fmt(figures.p99Ms, 2)} ms, delivered ${percent(figures.delivered)}`,
      );
      return figures;
    });
    const bare = results.find((r) => r.key === "bare-hocuspocus")?.median;
    const table: Table = {
      title: `typing — ${SHAPE.rooms} rooms × ${SHAPE.clientsPerRoom} clients, ${SHAPE.typistsPerRoom} typing at ${SHAPE.keystrokesPerSecond} Hz each, all receiving, ${durationMs / 1000} s window, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["server", "typed/s", "relayed/s", "p50 ms", "p99 ms", "max ms", "delivered", "server CPU µs/upd", "PG CPU µs/upd", "server CPU %", "clients CPU %", "RSS MiB", "p50 vs bare", "p99 vs bare", "CPU/upd vs bare", "others' CPU %"],
      rows: results.map(({ label, median: m }) => [
        label,
        fmt(m.typedPerSecond),
        fmt(m.relayedPerSecond),
        fmt(m.p50Ms, 2),
        fmt(m.p99Ms, 2),
        fmt(m.maxMs, 1),
        percent(m.delivered),
        fmt(m.serverCpuMicrosPerUpdate),
        fmt(m.databaseCpuMicrosPerUpdate),
        fmt(m.serverCpuPercent),
        fmt(m.clientCpuPercent),
        fmt(m.rssMiB),
        ratio(m.p50Ms, bare?.p50Ms),
        ratio(m.p99Ms, bare?.p99Ms),
        ratio(m.serverCpuMicrosPerUpdate, bare?.serverCpuMicrosPerUpdate),
        fmt(m.otherCpuPercent),
      ]),
      notes: [
        `latency = typist's local change → a receiving client's Y.Doc, at each of the other ${SHAPE.clientsPerRoom - 1} clients in the room; delivered = (keystroke, receiver) pairs that arrived / typed in the window × ${SHAPE.clientsPerRoom - 1}`,
        "CPU % is of one core (the machine has two); clients CPU % is the benchmark process driving all the clients; others' CPU % = every process but this server, its PostgreSQL backends and the clients",
        "SyncForge ran with its default rate limits (30 keystrokes/s per connection is under them); issue 18: server CPU/upd ≤ 1.25× bare, p99 ≤ 1.5× bare",
        `typed/s = keystrokes made in the window per second, ${fmt(SHAPE.rooms * SHAPE.typistsPerRoom * SHAPE.keystrokesPerSecond)} when every typist keeps pace (a late slot is skipped, not burst: fewer means the benchmark process was starved); relayed/s = keystrokes that reached the receivers in the window (fewer than typed: the server fell behind); CPU µs/upd is per keystroke relayed; a server that relays fewer than are typed (delivered under 100 %, not converged) falls behind, and its latency is then the length of its queue`,
        `keystrokes typed in the window per run (median): ${results.map((r) => `${r.label} ${fmt(r.median.typed)}`).join(", ")}`,
        ...results
          .filter((r) => r.runs.some((f) => f.converged !== 1 || f.disconnects > 0 || f.serverErrors > 0))
          .map(
            (r) =>
              `WARNING ${r.label}: ${r.runs.filter((f) => f.converged !== 1).length} run(s) did not converge, ` +
              `${r.runs.reduce((n, f) => n + f.disconnects, 0)} disconnect(s), ${r.runs.reduce((n, f) => n + f.serverErrors, 0)} server error line(s) — see data/bench/typing.json`,
          ),
      ],
    };
    return {
      tables: [table],
      data: {
        parameters: { ...SHAPE, warmupMs: WARMUP_MS, durationMs, rounds: context.rounds },
        results,
      },
    };
  },
};

export default typing;
