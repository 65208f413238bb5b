/**
 * Benchmark "throughput": how many document updates a second the server applies — and, for
 * SyncForge, makes durable — when clients push as fast as it accepts them.
 *
 * Several clients in several rooms each keep a bounded window of updates in flight: a client
 * makes a new one-character insert whenever fewer than WINDOW of its updates are unacknowledged.
 * The server acknowledges an update (Hocuspocus' SyncStatus message, the provider's
 * `unsyncedChanges` counter) after applying it; SyncForge's persistence extension appends it to
 * the update log and waits for the commit *before* it is applied, so for SyncForge every
 * acknowledged update is durable. After the run the benchmark checks that claim instead of trusting
 * it: it reads each room's snapshot and update log from the database in one transaction, applies
 * them to a fresh Y.Doc and counts the characters (one per update). The bare baseline persists
 * nothing; its figure is "applied" only.
 */
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { connectClient, sleep, waitFor, type BenchClient } from "./lib/clients.ts";
import { CpuMeter, readMachineBusyMicros, selfCpuMicros } from "./lib/proc.ts";
import { fmt, percent, ratio, type Table } from "./lib/table.ts";
import { selectTargets, type RunningTarget, type Target } from "./lib/targets.ts";

const ROOMS = 4;
const CLIENTS_PER_ROOM = 2;
const WINDOW = 8;
const WARMUP_MS = 1000;
const DRAIN_TIMEOUT_MS = 15_000;
/**
 * SyncForge limits document messages per connection (DOCUMENT_MESSAGES_PER_SECOND, 200/s by
 * default, queueing the excess): with it on, this benchmark would measure the limit, not the
 * server. It is raised to its maximum here; the typing benchmark runs with the defaults.
 */
const SERVER_ENV = { DOCUMENT_MESSAGES_PER_SECOND: "100000", DOCUMENT_MESSAGES_BURST: "100000" };

interface ThroughputFigures extends Figures {
  updatesPerSecond: number;
  acknowledged: number;
  sent: number;
  /** Fraction of the updates sent that the database holds after the run; NaN for the baseline. */
  persisted: number;
  serverCpuMicrosPerUpdate: number;
  databaseCpuMicrosPerUpdate: number;
  rssMiB: number;
  /** CPU the server process used, as a percentage of one core. */
  serverCpuPercent: number;
  /** CPU the benchmark process (all clients) used, as a percentage of one core. */
  clientCpuPercent: number;
  /** CPU every other process on the machine used in the window, as a percentage of one core. */
  otherCpuPercent: number;
  disconnects: number;
  /** Error or warning lines the server wrote during the run (a healthy run has none). */
  serverErrors: number;
}

interface Pusher {
  client: BenchClient;
  room: number;
  sent(): number;
  acknowledged(): number;
  stop(): void;
}

/** Keep WINDOW one-character inserts in flight on `client` until stopped. */
function startPushing(client: BenchClient, room: number): Pusher {
  const text = client.doc.getText("content");
  const provider = client.provider;
  let sent = 0;
  let running = true;
  let pumping = false;
  const pump = () => {
    // Each insert emits 'unsyncedChanges' synchronously; the flag stops that from recursing.
    if (pumping) return;
    pumping = true;
    try {
      while (running && provider.unsyncedChanges < WINDOW) {
        text.insert(text.length, "x");
        sent += 1;
      }
    } finally {
      pumping = false;
    }
  };
  provider.on("unsyncedChanges", pump);
  pump();
  return {
    client,
    room,
    sent: () => sent,
    // Valid while the connection never dropped (a reconnect resets the counter): checked below.
    acknowledged: () => sent - provider.unsyncedChanges,
    stop: () => {
      running = false;
      provider.off("unsyncedChanges", pump);
    },
  };
}

async function measureThroughput(running: RunningTarget, durationMs: number): Promise<ThroughputFigures> {
  const runId = Math.random().toString(36).slice(2, 8);
  const rooms = Array.from({ length: ROOMS }, (_, r) => `throughput-${runId}-${r}`);
  const clients: BenchClient[] = [];
  const pushers: Pusher[] = [];
  try {
    for (const [r, room] of rooms.entries()) {
      for (let c = 0; c < CLIENTS_PER_ROOM; c += 1) {
        clients.push(await connectClient(running.url, room, await running.token(`pusher-${r}-${c}`)));
      }
    }
    for (const [i, client] of clients.entries()) pushers.push(startPushing(client, Math.floor(i / CLIENTS_PER_ROOM)));

    await sleep(WARMUP_MS);
    const serverCpu = new CpuMeter(() => [running.server.pid]);
    const databaseCpu = new CpuMeter(() => running.databasePids());
    await databaseCpu.start();
    await serverCpu.start();
    const clientCpuBefore = selfCpuMicros();
    const machineBefore = readMachineBusyMicros();
    const ackedBefore = pushers.reduce((n, p) => n + p.acknowledged(), 0);
    await sleep(durationMs);
    const ackedAfter = pushers.reduce((n, p) => n + p.acknowledged(), 0);
    const server = await serverCpu.stop();
    const clientCpu = selfCpuMicros() - clientCpuBefore;
    const machine = readMachineBusyMicros() - machineBefore;
    const database = await databaseCpu.stop();
    const memory = running.memory();
    for (const pusher of pushers) pusher.stop();

    const acknowledged = ackedAfter - ackedBefore;
    await waitFor(() => clients.every((c) => c.provider.unsyncedChanges === 0), DRAIN_TIMEOUT_MS, "the last updates to be acknowledged").catch(
      () => undefined,
    );
    const sent = pushers.reduce((n, p) => n + p.sent(), 0);

    let persisted = Number.NaN;
    if (running.target.persists) {
      let found = 0;
      for (const [r, room] of rooms.entries()) {
        const doc = await running.readPersisted(room);
        const sentToRoom = pushers.filter((p) => p.room === r).reduce((n, p) => n + p.sent(), 0);
        // Yjs merges duplicates, so a count above sentToRoom cannot happen; clamp anyway.
        found += Math.min(doc?.getText("content").length ?? 0, sentToRoom);
        doc?.destroy();
      }
      persisted = sent > 0 ? found / sent : Number.NaN;
    }

    return {
      updatesPerSecond: acknowledged / (server.wallMs / 1000),
      acknowledged,
      sent,
      persisted,
      serverCpuMicrosPerUpdate: server.cpuMicros / acknowledged,
      databaseCpuMicrosPerUpdate: running.target.key === "syncforge-postgres" ? database.cpuMicros / acknowledged : Number.NaN,
      rssMiB: memory ? memory.rss / 2 ** 20 : Number.NaN,
      serverCpuPercent: (server.cpuMicros / 1000 / server.wallMs) * 100,
      clientCpuPercent: (clientCpu / 1000 / server.wallMs) * 100,
      otherCpuPercent: (Math.max(0, machine - server.cpuMicros - database.cpuMicros - clientCpu) / 1000 / server.wallMs) * 100,
      disconnects: clients.reduce((n, c) => n + c.disconnects(), 0),
      serverErrors: Number.NaN, // filled in once the server has stopped
    };
  } finally {
    for (const pusher of pushers) pusher.stop();
    for (const client of clients) client.destroy();
  }
}

const throughput: Benchmark = {
  name: "throughput",
  description: `${ROOMS} rooms × ${CLIENTS_PER_ROOM} clients, ${WINDOW} updates in flight each: updates/s acknowledged and persisted`,
  async run(context: BenchContext) {
    const durationMs = context.seconds ? context.seconds * 1000 : context.quick ? 3000 : 6000;
    const results = await runInterleaved<Target, ThroughputFigures>(context, selectTargets(context.servers), async (target) => {
      const running = await target.start(SERVER_ENV);
      let figures: ThroughputFigures;
      try {
        figures = await measureThroughput(running, durationMs);
      } finally {
        await running.stop();
      }
      // Counted after the server stopped: compaction on shutdown logs its failures late.
      figures.serverErrors = running.server.errorLines();
      for (const line of running.server.errorSamples().slice(0, 2)) context.log(`  server: ${line}`);
      if (figures.serverErrors > 2) context.log(`  server: … ${figures.serverErrors} error/warning lines in all`);
      context.log(`  ${target.label}: ${fmt(figures.updatesPerSecond)} updates/s, persisted ${percent(figures.persisted)}`);
      return figures;
    });
    const bare = results.find((r) => r.key === "bare-hocuspocus")?.median;
    const table: Table = {
      title: `throughput — ${ROOMS} rooms × ${CLIENTS_PER_ROOM} clients, ${WINDOW} updates in flight per client, ${durationMs / 1000} s window, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: [
        "server",
        "updates/s",
        "persisted (verified)",
        "server CPU µs/upd",
        "PG CPU µs/upd",
        "server CPU %",
        "clients CPU %",
        "RSS MiB",
        "updates/s vs bare",
        "CPU/upd vs bare",
        "others' CPU %",
      ],
      rows: results.map(({ key, label, median: m }) => [
        label,
        fmt(m.updatesPerSecond),
        key === "bare-hocuspocus" ? "n/a (in memory)" : percent(m.persisted),
        fmt(m.serverCpuMicrosPerUpdate),
        fmt(m.databaseCpuMicrosPerUpdate),
        fmt(m.serverCpuPercent),
        fmt(m.clientCpuPercent),
        fmt(m.rssMiB),
        ratio(m.updatesPerSecond, bare?.updatesPerSecond),
        ratio(m.serverCpuMicrosPerUpdate, bare?.serverCpuMicrosPerUpdate),
        fmt(m.otherCpuPercent),
      ]),
      notes: [
        "SyncForge ran with its per-connection document message limit raised to 100,000/s (the default, 200/s with a burst of 400, would cap 8 clients at 1,600/s)",
        "updates/s = updates the server acknowledged in the window; SyncForge acknowledges only after the update-log commit",
        "CPU % is of one core (the machine has two); clients CPU % is the benchmark process driving every client; others' CPU % is every other process on the machine (other engineers' test runs, PostgreSQL background processes)",
        "persisted = updates found in the database (snapshot + update log, read in one transaction) / updates sent, after the run",
        ...results
          .filter((r) => r.runs.some((f) => f.disconnects > 0 || f.serverErrors > 0 || f.acknowledged === 0))
          .map(
            (r) =>
              `WARNING ${r.label}: ${r.runs.filter((f) => f.acknowledged === 0).length} run(s) with nothing acknowledged, ` +
              `${r.runs.reduce((n, f) => n + f.disconnects, 0)} disconnect(s), ${r.runs.reduce((n, f) => n + f.serverErrors, 0)} server error line(s) — see data/bench/throughput.json`,
          ),
      ],
    };
    return {
      tables: [table],
      data: {
        parameters: { rooms: ROOMS, clientsPerRoom: CLIENTS_PER_ROOM, window: WINDOW, warmupMs: WARMUP_MS, durationMs, rounds: context.rounds },
        results,
      },
    };
  },
};

export default throughput;
