/**
 * Benchmark "comment-auth": the cost of the server-side comment write authorisation
 * (extensions/comments.ts, server/domain/comments/update-guard.ts) on a typing workload.
 *
 * 1. End to end: a typing workload (typing.ts' measurement, 4 rooms × 3 writers at 20 chars/s and
 *    one more client per room; every client receives) against SyncForge on SQLite and on PostgreSQL, each with COMMENT_GUARD=on and with COMMENT_GUARD=off (a
 *    benchmarking-only switch that disables the guard — unsafe), interleaved rounds, medians:
 *    latency to the observer and server CPU per update, and the overhead of "on" against "off".
 * 2. In process: the guard alone on a realistic document (10 000 characters of text, 200 threads
 *    with 3 comments and reactions each), per keystroke update, against Y.applyUpdate of the same
 *    update — the part of the server CPU the guard adds, without network or storage noise.
 */
import * as Y from "yjs";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { fmt, type Table } from "./lib/table.ts";
import { TARGETS } from "./lib/targets.ts";
import { measureTyping, type TypingShape } from "./typing.ts";
import { checkUpdate } from "../../server/domain/comments/update-guard.ts";
import { COMMENTS, REACTIONS, THREADS, reactionKey } from "../../protocol/comment-schema.ts";

/** The typing benchmark's earlier, smaller shape: the guard's cost, not the server's ceiling. */
const TYPING_SHAPE: TypingShape = { rooms: 4, clientsPerRoom: 4, typistsPerRoom: 3, keystrokesPerSecond: 20 };

interface Configuration {
  key: string;
  label: string;
  target: "syncforge-sqlite" | "syncforge-postgres";
  env: Record<string, string>;
}

const CONFIGURATIONS: Configuration[] = [
  { key: "sqlite-on", label: "SQLite, comment guard on", target: "syncforge-sqlite", env: { COMMENT_GUARD: "on" } },
  { key: "sqlite-off", label: "SQLite, guard off (unsafe)", target: "syncforge-sqlite", env: { COMMENT_GUARD: "off" } },
  { key: "postgres-on", label: "PostgreSQL, comment guard on", target: "syncforge-postgres", env: { COMMENT_GUARD: "on" } },
  { key: "postgres-off", label: "PostgreSQL, guard off (unsafe)", target: "syncforge-postgres", env: { COMMENT_GUARD: "off" } },
];

interface GuardFigures extends Figures {
  p50Ms: number;
  p99Ms: number;
  delivered: number;
  serverCpuMicrosPerUpdate: number;
  /** Time the server itself spent in the guard per checked update (its shutdown log), or NaN. */
  guardMicrosPerCheck: number;
}

/** The "Comment guard totals" line the server logs at shutdown: µs per check. */
function guardTotals(output: string): number {
  for (const line of output.split("\n").reverse()) {
    if (!line.includes("Comment guard totals")) continue;
    try {
      const { checks, micros } = JSON.parse(line.slice(line.indexOf("{"))) as { checks: number; micros: number };
      return checks > 0 ? micros / checks : Number.NaN;
    } catch {
      return Number.NaN;
    }
  }
  return Number.NaN;
}

function overhead(on: number | undefined, off: number | undefined): string {
  if (on === undefined || off === undefined || !Number.isFinite(on) || !Number.isFinite(off) || off === 0) return "–";
  const pct = ((on - off) / off) * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(1)} %`;
}

/** µs per keystroke update: the guard's check, and Y.applyUpdate of the same update. */
export function measureGuardInProcess(updates: number): { guardMicros: number; applyMicros: number } {
  const server = new Y.Doc();
  const seed = new Y.Doc();
  seed.getText("content").insert(0, "x".repeat(10_000));
  for (let t = 0; t < 200; t++) {
    const threadId = `th_${t}`;
    seed.getMap(THREADS).set(threadId, { id: threadId, createdBy: "u1", createdAt: t, anchor: null, resolved: false, resolvedBy: null, resolvedAt: null, metadata: {} });
    for (let c = 0; c < 3; c++) {
      const id = `cm_${t}_${c}`;
      seed.getMap(COMMENTS).set(id, { id, threadId, parentId: null, authorId: `u${c}`, body: "a comment body", mentions: [], createdAt: t, editedAt: null, deletedAt: null });
      seed.getMap(REACTIONS).set(reactionKey({ commentId: id, emoji: "👍", userId: "u2" }), { at: t });
    }
  }
  Y.applyUpdate(server, Y.encodeStateAsUpdate(seed));
  const writer = new Y.Doc();
  Y.applyUpdate(writer, Y.encodeStateAsUpdate(server));
  const produced: Uint8Array[] = [];
  writer.on("update", (u: Uint8Array) => produced.push(u));
  const text = writer.getText("content");
  for (let i = 0; i < updates; i++) {
    writer.transact(() => {
      text.insert(Math.floor(text.length / 2) + (i % 50), "k");
      writer.getMap("stamps").set("w", { s: i, t: i });
    });
  }
  const who = { userId: "u1", canWrite: true, canWriteComments: true };
  let guardNs = 0n;
  let applyNs = 0n;
  for (const update of produced) {
    const a = process.hrtime.bigint();
    const verdict = checkUpdate(server, update, who);
    const b = process.hrtime.bigint();
    Y.applyUpdate(server, update);
    const c = process.hrtime.bigint();
    if (!verdict.ok) throw new Error(`guard refused a typing update: ${verdict.reason}`);
    guardNs += b - a;
    applyNs += c - b;
  }
  for (const d of [server, seed, writer]) d.destroy();
  return { guardMicros: Number(guardNs) / 1000 / produced.length, applyMicros: Number(applyNs) / 1000 / produced.length };
}

const commentAuth: Benchmark = {
  name: "comment-auth",
  description: "cost of the server-side comment write authorisation on a typing workload (guard on vs off)",
  async run(context: BenchContext) {
    const durationMs = context.seconds ? context.seconds * 1000 : context.quick ? 5000 : 10_000;
    const results = await runInterleaved<Configuration, GuardFigures>(context, CONFIGURATIONS, async (configuration) => {
      const running = await TARGETS[configuration.target].start(configuration.env);
      let figures: GuardFigures;
      try {
        const f = await measureTyping(running, durationMs, TYPING_SHAPE);
        figures = { p50Ms: f.p50Ms, p99Ms: f.p99Ms, delivered: f.delivered, serverCpuMicrosPerUpdate: f.serverCpuMicrosPerUpdate, guardMicrosPerCheck: Number.NaN };
      } finally {
        await running.stop();
      }
      figures.guardMicrosPerCheck = guardTotals(running.server.output());
      context.log(`  ${configuration.label}: p50 ${fmt(figures.p50Ms, 2)} ms, server CPU ${fmt(figures.serverCpuMicrosPerUpdate)} µs/update, guard ${fmt(figures.guardMicrosPerCheck, 1)} µs/check`);
      return figures;
    });
    const median = (key: string) => results.find((r) => r.key === key)!.median;
    const updates = context.quick ? 2000 : 20_000;
    context.log(`in process: guard vs Y.applyUpdate over ${updates} keystroke updates`);
    const micro = measureGuardInProcess(updates);

    const table: Table = {
      title: `comment-auth — typing (4 rooms × 3 writers at 20 chars/s), ${durationMs / 1000} s window, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["configuration", "p50 ms", "p99 ms", "delivered", "server CPU µs/upd", "guard µs/upd (in server)", "guard share of CPU"],
      rows: (["sqlite", "postgres"] as const).flatMap((db) => {
        const on = median(`${db}-on`);
        const off = median(`${db}-off`);
        const share = (m: GuardFigures) => (Number.isFinite(m.guardMicrosPerCheck) ? `${((m.guardMicrosPerCheck / m.serverCpuMicrosPerUpdate) * 100).toFixed(1)} %` : "–");
        const row = (label: string, m: GuardFigures) => [label, fmt(m.p50Ms, 2), fmt(m.p99Ms, 2), `${(m.delivered * 100).toFixed(2)} %`, fmt(m.serverCpuMicrosPerUpdate), fmt(m.guardMicrosPerCheck, 1), share(m)];
        return [
          row(CONFIGURATIONS.find((c) => c.key === `${db}-on`)!.label, on),
          row(CONFIGURATIONS.find((c) => c.key === `${db}-off`)!.label, off),
          [`on vs off (${db === "sqlite" ? "SQLite" : "PostgreSQL"})`, overhead(on.p50Ms, off.p50Ms), overhead(on.p99Ms, off.p99Ms), "", overhead(on.serverCpuMicrosPerUpdate, off.serverCpuMicrosPerUpdate), "", ""],
        ];
      }),
      notes: [
        `in process, ${updates} keystroke updates on a 10 000-character document with 200 threads × 3 comments: ` +
          `guard ${fmt(micro.guardMicros, 2)} µs/update, Y.applyUpdate ${fmt(micro.applyMicros, 2)} µs/update ` +
          `(guard = ${fmt((micro.guardMicros / median("sqlite-on").serverCpuMicrosPerUpdate) * 100, 1)} % of the SQLite server's CPU per update with the guard on)`,
        "target: under 10 % overhead. \"guard µs/upd (in server)\" is the time the server itself spent in the guard per update (measured around each check, logged at shutdown) and \"guard share of CPU\" that time over the server's CPU per update: the guard's cost. \"on vs off\" compares two separate server runs and carries the run-to-run noise of a shared machine.",
      ],
    };
    return { tables: [table], data: { parameters: { durationMs, rounds: context.rounds, inProcessUpdates: updates }, results, inProcess: micro } };
  },
};

export default commentAuth;
