/**
 * Benchmark "typing": what a second user sees while someone types.
 *
 * Writers type into a shared Y.Text at a steady 20 characters a second each (a fast typist), with
 * random phase offsets, several writers in each of several rooms; one observer per room only
 * listens. Every keystroke is one transaction that inserts the character and sets the writer's
 * entry in a Y.Map to { s: sequence, t: performance.now() }, so the observer, which shares this
 * process's clock, measures the latency from the writer's local change to its own Y.Doc having it:
 * client encode → socket → server (for SyncForge: authenticate, log durably, apply) → broadcast →
 * socket → observer decode and apply. A missed slot (event loop late) is skipped, not burst.
 *
 * Figures over the measurement window (after a warm-up): latency p50/p99/max, the fraction of
 * keystrokes typed in the window that the observer saw, the server process's CPU time per
 * keystroke (and PostgreSQL's backends' for that configuration), and the server's RSS.
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

const ROOMS = 4;
const WRITERS_PER_ROOM = 3;
const CHARS_PER_SECOND = 20;
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
  delivered: number;
  typed: number;
  typedPerSecond: number;
  serverCpuMicrosPerUpdate: number;
  databaseCpuMicrosPerUpdate: number;
  rssMiB: number;
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
      stamps.set(key, stamp);
    });
    onType(stamp);
    seq += 1;
  });
}

export async function measureTyping(running: RunningTarget, durationMs: number): Promise<TypingFigures> {
  const runId = Math.random().toString(36).slice(2, 8);
  const intervalMs = 1000 / CHARS_PER_SECOND;
  const clients: BenchClient[] = [];
  const stops: Array<() => void> = [];
  const latencies: number[] = [];
  let window = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };
  const inWindow = (t: number) => t >= window.start && t < window.end;
  let typedInWindow = 0;
  const typedPerRoom: number[] = new Array(ROOMS).fill(0);
  const observers: BenchClient[] = [];

  try {
    for (let r = 0; r < ROOMS; r += 1) {
      const room = `typing-${runId}-${r}`;
      const observer = await connectClient(running.url, room, await running.token(`observer-${r}`));
      clients.push(observer);
      observers.push(observer);
      observer.doc.getMap<Stamp>("stamps").observe((event) => {
        const now = performance.now();
        for (const key of event.keysChanged) {
          const stamp = observer.doc.getMap<Stamp>("stamps").get(key);
          if (stamp && inWindow(stamp.t)) latencies.push(now - stamp.t);
        }
      });
      for (let w = 0; w < WRITERS_PER_ROOM; w += 1) {
        const writer = await connectClient(running.url, room, await running.token(`writer-${r}-${w}`));
        clients.push(writer);
        const phase = Math.random() * intervalMs;
        stops.push(
          startTyping(writer.doc, `w${w}`, phase, intervalMs, (stamp) => {
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
    const clientCpu = selfCpuMicros() - clientCpuBefore;
    const machine = readMachineBusyMicros() - machineBefore;
    const database = await databaseCpu.stop();
    const memory = running.memory();
    for (const stop of stops) stop();
    stops.length = 0;

    // Let the keystrokes typed at the end of the window arrive; late ones count as not delivered.
    await waitFor(() => latencies.length >= typedInWindow, GRACE_MS, "typing to arrive").catch(() => undefined);
    await waitFor(
      () => observers.every((o, r) => o.doc.getText("content").length === typedPerRoom[r]),
      GRACE_MS,
      "observers to converge",
    ).catch(() => undefined);
    const converged = observers.every((o, r) => o.doc.getText("content").length === typedPerRoom[r]);

    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: percentile(latencies, 100),
      delivered: typedInWindow > 0 ? Math.min(latencies.length, typedInWindow) / typedInWindow : Number.NaN,
      typed: typedInWindow,
      typedPerSecond: typedInWindow / (server.wallMs / 1000),
      serverCpuMicrosPerUpdate: server.cpuMicros / typedInWindow,
      databaseCpuMicrosPerUpdate: running.target.key === "syncforge-postgres" ? database.cpuMicros / typedInWindow : Number.NaN,
      rssMiB: memory ? memory.rss / 2 ** 20 : Number.NaN,
      clientCpuPercent: (clientCpu / 1000 / server.wallMs) * 100,
      otherCpuPercent: (Math.max(0, machine - server.cpuMicros - database.cpuMicros - clientCpu) / 1000 / server.wallMs) * 100,
      converged: converged ? 1 : 0,
      disconnects: clients.reduce((n, c) => n + c.disconnects(), 0),
      serverErrors: Number.NaN, // filled in once the server has stopped
    };
  } finally {
    for (const stop of stops) stop();
    for (const client of clients) client.destroy();
  }
}

const typing: Benchmark = {
  name: "typing",
  description: `${ROOMS} rooms × ${WRITERS_PER_ROOM} writers at ${CHARS_PER_SECOND} chars/s + 1 observer each: latency to the observer`,
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
      title: `typing — ${ROOMS} rooms × ${WRITERS_PER_ROOM} writers at ${CHARS_PER_SECOND} chars/s, 1 observer per room, ${durationMs / 1000} s window, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["server", "p50 ms", "p99 ms", "max ms", "delivered", "server CPU µs/upd", "PG CPU µs/upd", "RSS MiB", "p50 vs bare", "p99 vs bare", "CPU vs bare", "others' CPU %"],
      rows: results.map(({ label, median: m }) => [
        label,
        fmt(m.p50Ms, 2),
        fmt(m.p99Ms, 2),
        fmt(m.maxMs, 1),
        percent(m.delivered),
        fmt(m.serverCpuMicrosPerUpdate),
        fmt(m.databaseCpuMicrosPerUpdate),
        fmt(m.rssMiB),
        ratio(m.p50Ms, bare?.p50Ms),
        ratio(m.p99Ms, bare?.p99Ms),
        ratio(m.serverCpuMicrosPerUpdate, bare?.serverCpuMicrosPerUpdate),
        fmt(m.otherCpuPercent),
      ]),
      notes: [
        "others' CPU % = CPU used in the window by every process but this server, its PostgreSQL backends and the clients, in % of one core (2 cores in all)",
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
        parameters: { rooms: ROOMS, writersPerRoom: WRITERS_PER_ROOM, charsPerSecond: CHARS_PER_SECOND, warmupMs: WARMUP_MS, durationMs, rounds: context.rounds },
        results,
      },
    };
  },
};

export default typing;
