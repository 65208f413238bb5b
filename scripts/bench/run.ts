/**
 * `npm run bench`: run every registered benchmark (registry.ts), print its tables on stdout and
 * write its figures to data/bench/<name>.json.
 *
 *   npm run bench                      all benchmarks, 3 interleaved rounds, medians
 *   npm run bench -- --quick           one short round each (a smoke test, not a measurement)
 *   npm run bench -- --only typing     one benchmark (repeatable, or comma-separated)
 *   npm run bench -- --rounds 5        more rounds
 *   npm run bench -- --servers syncforge-sqlite,bare-hocuspocus   some server configurations only
 *   npm run bench -- --only awareness --workloads 1x200           some workloads of a benchmark only
 *   npm run bench -- --only awareness --seconds 60                a longer measuring window
 *
 * BENCH_SERVER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=data/prof" (or "--trace-gc-nvp", any node or
 * V8 flag) starts the servers under test with those flags; BENCH_SERVER_OUTPUT=<file> keeps their
 * whole output there.
 *
 * Servers under test run as child processes; the clients run here. See docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { registry } from "./registry.ts";
import type { BenchContext } from "./lib/benchmark.ts";
import { ROOT, gitRevision, loadAverage } from "./lib/proc.ts";
import { formatTable } from "./lib/table.ts";
import { ALL_TARGETS } from "./lib/targets.ts";

const USAGE = `usage: npm run bench -- [--only <name>[,<name>]] [--quick] [--rounds <n>] [--servers <key>[,<key>]] [--workloads <key>[,<key>]] [--seconds <n>]
benchmarks: ${registry.map((r) => r.name).join(", ")}
servers: ${ALL_TARGETS.map((t) => t.key).join(", ")} (and a benchmark's own, e.g. awareness: syncforge, syncforge-yjs, bare-y-websocket)
workloads: a benchmark's own keys (awareness: 20x10, 1x200, 100x10, flood)`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string", multiple: true },
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      servers: { type: "string", multiple: true },
      workloads: { type: "string", multiple: true },
      seconds: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const only = (values.only ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const unknown = only.filter((name) => !registry.some((r) => r.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark: ${unknown.join(", ")}\n${USAGE}\n`);
    return 2;
  }
  const list = (v: string[] | undefined) => (v ?? []).flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
  // Benchmarks may define servers of their own (awareness: bare y-websocket), so keys are not checked here.
  const servers = list(values.servers);
  const workloads = list(values.workloads);
  const rounds = values.rounds ? Number(values.rounds) : values.quick ? 1 : 3;
  if (!Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write(`--rounds must be a positive integer\n${USAGE}\n`);
    return 2;
  }
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(seconds > 0)) {
    process.stderr.write(`--seconds must be a positive number\n${USAGE}\n`);
    return 2;
  }
  const selected = only.length > 0 ? registry.filter((r) => only.includes(r.name)) : registry;
  const outDir = path.join(ROOT, "data", "bench");
  mkdirSync(outDir, { recursive: true });

  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
  const revision = gitRevision();
  process.stderr.write(
    `SyncForge benchmarks on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; load average ${loadAverage().join(" ")}\n`,
  );

  let failed = 0;
  for (const registration of selected) {
    const { default: benchmark } = await registration.load();
    const context: BenchContext = {
      quick: values.quick ?? false,
      rounds,
      servers,
      workloads,
      seconds,
      log: (message) => process.stderr.write(`[${benchmark.name}] ${message}\n`),
    };
    const loadBefore = loadAverage();
    const startedAt = new Date();
    process.stderr.write(`\n[${benchmark.name}] ${benchmark.description}\n`);
    try {
      const result = await benchmark.run(context);
      const loadAfter = loadAverage();
      const seconds = Math.round((Date.now() - startedAt.getTime()) / 1000);
      for (const table of result.tables) process.stdout.write(`\n${formatTable(table)}\n`);
      process.stdout.write(`\n(${seconds} s; load average before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")})\n`);
      const file = path.join(outDir, `${benchmark.name}.json`);
      const record = {
        benchmark: benchmark.name,
        description: benchmark.description,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        seconds,
        quick: context.quick,
        rounds,
        machine,
        revision,
        loadAverage: { before: loadBefore, after: loadAfter },
        tables: result.tables,
        ...result.data,
      };
      writeFileSync(file, `${JSON.stringify(record, (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? null : value), 2)}\n`);
      process.stderr.write(`[${benchmark.name}] wrote ${path.relative(ROOT, file)}\n`);
    } catch (error) {
      failed += 1;
      process.stderr.write(`[${benchmark.name}] failed: ${(error as Error).stack ?? error}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  },
);
