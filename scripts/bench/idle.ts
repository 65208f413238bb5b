/**
 * Benchmark "idle": what a server costs with nothing to do — no client connected, after start-up
 * has settled. A self-hosted server spends most of its life like this, and whatever wakes it up
 * at rest also runs between the messages of a lightly loaded one (at 1 room × 200 clients the
 * server is busy ≈ 10 % of the time, so a timer firing a hundred times a second is a measurable
 * share of its CPU per delivered update: docs/benchmarks.md).
 *
 * Configurations: SyncForge on SQLite as it ships; the same with the event-loop delay histogram of
 * /metrics sampling every 10 ms (METRICS_EVENT_LOOP_RESOLUTION_MS=10, prom-client's own default);
 * bare @hocuspocus/server. Figures over the window: server CPU in ms per second, and how often its
 * main thread went to sleep and was woken (voluntary context switches per second, /proc/<pid>/status).
 */
import { readFileSync } from "node:fs";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { sleep } from "./lib/clients.ts";
import { CpuMeter } from "./lib/proc.ts";
import { fmt, ratio, type Table } from "./lib/table.ts";
import { TARGETS, type TargetKey } from "./lib/targets.ts";

interface Configuration {
  key: string;
  label: string;
  target: TargetKey;
  env: Record<string, string>;
}

const CONFIGURATIONS: Configuration[] = [
  { key: "syncforge", label: "SyncForge (SQLite), as shipped", target: "syncforge-sqlite", env: {} },
  { key: "syncforge-elr10", label: "SyncForge, event-loop histogram every 10 ms", target: "syncforge-sqlite", env: { METRICS_EVENT_LOOP_RESOLUTION_MS: "10" } },
  { key: "bare-hocuspocus", label: "bare Hocuspocus 4.7", target: "bare-hocuspocus", env: {} },
];

interface IdleFigures extends Figures {
  cpuMsPerSecond: number;
  wakeupsPerSecond: number;
}

const SETTLE_MS = 3000;

/** Voluntary context switches of a process's main thread so far (each one a sleep, then a wake-up). */
function voluntarySwitches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
}

const idle: Benchmark = {
  name: "idle",
  description: "server CPU and wake-ups per second with no client connected",
  async run(context: BenchContext) {
    const windowMs = context.seconds ? context.seconds * 1000 : context.quick ? 5000 : 10_000;
    const selected = context.servers.length === 0 ? CONFIGURATIONS : CONFIGURATIONS.filter((c) => context.servers.includes(c.key));
    const results = await runInterleaved<Configuration, IdleFigures>(context, selected, async (configuration) => {
      const running = await TARGETS[configuration.target].start(configuration.env);
      try {
        await sleep(SETTLE_MS);
        const pid = running.server.pid;
        const meter = new CpuMeter(() => [pid]);
        const switchesBefore = voluntarySwitches(pid);
        await meter.start();
        await sleep(windowMs);
        const { cpuMicros, wallMs } = await meter.stop();
        const switches = voluntarySwitches(pid) - switchesBefore;
        const figures = { cpuMsPerSecond: cpuMicros / wallMs, wakeupsPerSecond: (switches * 1000) / wallMs };
        context.log(`  ${configuration.label}: ${fmt(figures.cpuMsPerSecond, 2)} ms CPU/s, ${fmt(figures.wakeupsPerSecond)} wake-ups/s`);
        return figures;
      } finally {
        await running.stop();
      }
    });
    const shipped = results.find((r) => r.key === "syncforge")?.median;
    const table: Table = {
      title: `idle — no client connected, ${windowMs / 1000} s window after ${SETTLE_MS / 1000} s to settle, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["server", "CPU ms/s", "main-thread wake-ups/s", "CPU vs SyncForge as shipped"],
      rows: results.map((r) => [r.label, fmt(r.median.cpuMsPerSecond, 2), fmt(r.median.wakeupsPerSecond), ratio(r.median.cpuMsPerSecond, shipped?.cpuMsPerSecond)]),
      notes: ["CPU from /proc/<pid>/stat (10 ms ticks: over a 10 s window, ±1 ms/s); wake-ups = voluntary context switches of the main thread"],
    };
    return { tables: [table], data: { windowMs, results } };
  },
};

export default idle;
