/**
 * Benchmark "join": how long a client waits to have a 1 MB room, from opening its provider to being
 * synced. Cold: the room's first connection, so the server loads it from the database (snapshot plus
 * log tail). Warm: another client joins while the room is loaded. Issue 18's target for a cold join
 * of a 1 MB room is a p50 under 50 ms.
 *
 * Per configuration: a fresh server; ROOMS rooms are filled with about 1 MB each (a Y.Text written in
 * 64 KiB transactions, so no message exceeds the server's frame limit), and left, so SyncForge stores
 * and unloads them; then one client joins each room in turn (cold), and, with that client still in,
 * WARM_JOINS more clients join it one after the other (warm). Bare Hocuspocus keeps nothing once a
 * room is left, so it has warm joins only.
 *
 * A room stored by this process leaves its snapshot in the server's snapshot cache, and a cold join
 * then reads only the snapshot's version and the log tail from the database. Each SyncForge
 * configuration also runs without the cache (SNAPSHOT_CACHE_MB=0): its cold joins read the whole
 * snapshot, as the first join of a room after a restart, or after another process stored it, does.
 */
import * as Y from "yjs";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { connectClient, sleep, waitFor, type BenchClient } from "./lib/clients.ts";
import { percentile } from "./lib/stats.ts";
import { fmt, ratio, type Table } from "./lib/table.ts";
import { selectTargets, type Target } from "./lib/targets.ts";

const ROOM_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** Time for the last client's leave to store and unload the rooms before the cold joins. */
const UNLOAD_WAIT_MS = 3000;

interface JoinFigures extends Figures {
  coldP50: number;
  coldP99: number;
  warmP50: number;
  warmP99: number;
}

/** Each SyncForge configuration, then the same without its snapshot cache. */
function withUncached(targets: Target[]): Target[] {
  return targets.flatMap((target) =>
    target.persists
      ? [target, { ...target, key: `${target.key}-uncached`, label: `${target.label}, no snapshot cache`, start: (env?: Record<string, string>) => target.start({ SNAPSHOT_CACHE_MB: "0", ...env }) }]
      : [target],
  );
}

/** Fill `room` with about ROOM_BYTES of text and wait until the server has acknowledged all of it. */
async function fillRoom(url: string, room: string, token: string): Promise<void> {
  const client = await connectClient(url, room, token);
  try {
    const text = client.doc.getText("content");
    const chunk = "x".repeat(CHUNK_BYTES - 16);
    for (let written = 0; written < ROOM_BYTES; written += CHUNK_BYTES) {
      client.doc.transact(() => text.insert(text.length, `${written}:${chunk}\n`));
      await waitFor(() => client.provider.unsyncedChanges === 0, 30_000, `room ${room} to take a chunk`);
    }
  } finally {
    client.destroy();
  }
}

/** Milliseconds from opening a provider to having the whole room. */
async function timeJoin(url: string, room: string, token: string): Promise<{ ms: number; client: BenchClient }> {
  const started = performance.now();
  const client = await connectClient(url, room, token, 30_000);
  const ms = performance.now() - started;
  const size = Y.encodeStateAsUpdate(client.doc).length;
  // The chunks' headers make the room a little under ROOM_BYTES; anything far below is a partial sync.
  if (size < ROOM_BYTES * 0.99) {
    client.destroy();
    throw new Error(`room ${room} arrived with ${size} bytes, expected at least ${ROOM_BYTES}`);
  }
  return { ms, client };
}

/**
 * CLOCK_MONOTONIC in microseconds, the clock of V8's CPU profiles (startTime, timeDeltas): with
 * BENCH_SERVER_NODE_OPTIONS="--cpu-prof", the logged window picks the cold joins out of a server
 * profile that the fill phase otherwise dominates.
 */
function monotonicMicros(): bigint {
  return process.hrtime.bigint() / 1000n;
}

const join: Benchmark = {
  name: "join",
  description: "time to sync a 1 MB room: cold (loaded from the database) and warm",
  async run(context: BenchContext) {
    const rooms = context.quick ? 3 : 8;
    const warmJoins = context.quick ? 3 : 8;
    const targets = withUncached(selectTargets(context.servers));
    const results = await runInterleaved<Target, JoinFigures>(context, targets, async (target, round) => {
      const running = await target.start();
      const open: BenchClient[] = [];
      try {
        const token = await running.token("bench-joiner");
        const names = Array.from({ length: rooms }, (_, i) => `join-${round}-${i}`);
        for (const name of names) await fillRoom(running.url, name, token);
        await sleep(UNLOAD_WAIT_MS);
        const cold: number[] = [];
        const warm: number[] = [];
        const coldFrom = monotonicMicros();
        for (const name of names) {
          if (target.persists) {
            const first = await timeJoin(running.url, name, token);
            cold.push(first.ms);
            open.push(first.client);
          } else {
            // Nothing was kept: fill again while one client stays, then only warm joins count.
            const holder = await connectClient(running.url, name, token);
            open.push(holder);
            const text = holder.doc.getText("content");
            for (let written = 0; written < ROOM_BYTES; written += CHUNK_BYTES) {
              holder.doc.transact(() => text.insert(text.length, `${written}:${"x".repeat(CHUNK_BYTES - 16)}\n`));
            }
            await waitFor(() => holder.provider.unsyncedChanges === 0, 30_000, `room ${name} to be refilled`);
          }
        }
        if (target.persists) context.log(`  ${target.label}: cold joins at monotonic ${coldFrom}–${monotonicMicros()} µs (to cut a server CPU profile to them)`);
        for (let i = 0; i < warmJoins; i += 1) {
          const joined = await timeJoin(running.url, names[i % names.length]!, token);
          warm.push(joined.ms);
          joined.client.destroy();
        }
        const figures = { coldP50: percentile(cold, 50), coldP99: percentile(cold, 99), warmP50: percentile(warm, 50), warmP99: percentile(warm, 99) };
        context.log(`  ${target.label}: cold p50 ${fmt(figures.coldP50, 1)} ms, warm p50 ${fmt(figures.warmP50, 1)} ms`);
        return figures;
      } finally {
        for (const client of open) client.destroy();
        await running.stop();
      }
    });
    const bare = results.find((r) => r.key === "bare-hocuspocus")?.median;
    const table: Table = {
      title: `join — a 1 MB room, ${rooms} rooms cold and ${warmJoins} warm joins per run, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["server", "cold p50 ms", "cold max ms", "warm p50 ms", "warm max ms", "warm p50 vs bare"],
      rows: results.map((r) => [r.label, fmt(r.median.coldP50, 1), fmt(r.median.coldP99, 1), fmt(r.median.warmP50, 1), fmt(r.median.warmP99, 1), ratio(r.median.warmP50, bare?.warmP50)]),
      notes: [
        "cold = the room's first connection: the server loads it from the database; warm = a client joins while another is in",
        "from opening the provider (a new WebSocket, authentication) to synced with the whole room, on loopback",
        "bare Hocuspocus keeps nothing once a room is left: warm joins only",
        "no snapshot cache: SNAPSHOT_CACHE_MB=0, so a cold join reads the whole snapshot from the database (as after a restart)",
      ],
    };
    return { tables: [table], data: { rooms, warmJoins, roomBytes: ROOM_BYTES, results } };
  },
};

export default join;
