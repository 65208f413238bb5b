/**
 * Benchmark "webhooks": a sustained stream of room events (1,000 commentCreated per second: 20
 * rooms, one writer each adding 50 comments a second to a thread) delivered to a local receiver.
 * Figures: events sent, webhooks received (distinct webhook-ids, each signature verified), lost
 * (sent − received once the outbox has drained), delivery lag (receipt − event time, p50/p99), and
 * the server's event-loop delay p99 (prom-client's histogram on /metrics, sampled every 10 ms)
 * over a quiet window before the load and over the load itself: what the outbox and its worker
 * cost the rooms they report on.
 *
 * The receiver answers 204 at once; a slow receiver holds only its endpoint's lane (see
 * test/integration/webhooks for that behaviour).
 */
import http from "node:http";
import { createDatabase } from "../../db/index.ts";
import { WebhookService } from "../../server/domain/webhooks/webhook-service.ts";
import { verifyWebhook } from "../../server/domain/webhooks/webhook-signature.ts";
import { COMMENTS, THREADS } from "../../protocol/comment-schema.ts";
import type { Benchmark, BenchContext, Figures } from "./lib/benchmark.ts";
import { runInterleaved } from "./lib/benchmark.ts";
import { connectClient, sleep, waitFor, type BenchClient } from "./lib/clients.ts";
import { startPaced } from "./lib/pace.ts";
import { percentile } from "./lib/stats.ts";
import { fmt, type Table } from "./lib/table.ts";
import { BENCH_ORG, TARGETS, type TargetKey } from "./lib/targets.ts";

interface Configuration {
  key: string;
  label: string;
  target: TargetKey;
  /** false: the same load with no endpoint registered, the baseline for the event-loop figures. */
  endpoint: boolean;
}

const CONFIGURATIONS: Configuration[] = [
  { key: "syncforge-postgres", label: "SyncForge (PostgreSQL)", target: "syncforge-postgres", endpoint: true },
  { key: "syncforge-postgres-none", label: "SyncForge (PostgreSQL), no endpoint", target: "syncforge-postgres", endpoint: false },
  { key: "syncforge-sqlite", label: "SyncForge (SQLite)", target: "syncforge-sqlite", endpoint: true },
  { key: "syncforge-sqlite-none", label: "SyncForge (SQLite), no endpoint", target: "syncforge-sqlite", endpoint: false },
];

const ROOMS = 20;
const EVENTS_PER_SECOND = 1000;
const QUIET_MS = 5000;
const DRAIN_TIMEOUT_MS = 120_000;

interface WebhookFigures extends Figures {
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  badSignatures: number;
  lagP50Ms: number;
  lagP99Ms: number;
  loopP99BeforeMs: number;
  loopP99DuringMs: number;
}

interface Receiver {
  url: string;
  ids: Set<string>;
  duplicates: number;
  badSignatures: number;
  lags: number[];
  close(): Promise<void>;
}

async function startReceiver(secret: () => string): Promise<Receiver> {
  const receiver: Receiver = { url: "", ids: new Set(), duplicates: 0, badSignatures: 0, lags: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = String(req.headers["webhook-id"]);
      const headers = { id, timestamp: String(req.headers["webhook-timestamp"]), signature: String(req.headers["webhook-signature"]) };
      if (!verifyWebhook(secret(), headers, body)) receiver.badSignatures += 1;
      else if (receiver.ids.has(id)) receiver.duplicates += 1;
      else {
        const event = JSON.parse(body) as { data: { createdAt: string; commentId: string } };
        // Only the load's comments count (the threads' first comments were sent before it).
        if (event.data.commentId.startsWith("cm-")) {
          receiver.ids.add(id);
          receiver.lags.push(Date.now() - Date.parse(event.data.createdAt));
        }
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hook`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

/** p99 of the server's event-loop delay since the previous scrape (prom-client resets its histogram). */
async function scrapeLoopP99(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const match = /^syncforge_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)/m.exec(text);
  return match ? Number(match[1]) * 1000 : Number.NaN;
}

async function measure(context: BenchContext, configuration: Configuration, windowMs: number): Promise<WebhookFigures> {
  const running = await TARGETS[configuration.target].start({ WEBHOOK_ALLOW_PRIVATE: "1", METRICS_EVENT_LOOP_RESOLUTION_MS: "10", COMMENT_GUARD: "on" });
  const clients: BenchClient[] = [];
  let secret = "";
  const receiver = await startReceiver(() => secret);
  try {
    // Seed the organisation and its endpoint through the server's own models and service.
    const db = createDatabase({ url: running.databaseUrl!, poolMax: 2, ssl: false });
    try {
      await db.models.Organization.findOrCreate({ where: { id: BENCH_ORG }, defaults: { id: BENCH_ORG, name: "Bench" } });
      await db.models.WebhookEndpoint.destroy({ where: { orgId: BENCH_ORG } });
      if (configuration.endpoint) {
        secret = (await new WebhookService({ db, allowPrivate: true }).create(BENCH_ORG, { url: receiver.url, events: ["commentCreated"] })).secret;
      }
    } finally {
      await db.close();
    }
    const httpUrl = running.url.replace(/^ws/, "http").replace(/\/collab$/, "");
    for (let i = 0; i < ROOMS; i++) clients.push(await connectClient(running.url, `webhooks-${i}`, await running.token(`writer-${i}`)));
    const comment = (i: number, id: string, threadId: string) => ({ id, threadId, parentId: null, authorId: `writer-${i}`, body: "benchmark", mentions: [], createdAt: Date.now(), editedAt: null, deletedAt: null });
    // A thread with its first comment in one transaction, as the SDK writes it (the guard's rule).
    const threads = clients.map((client, i) => {
      const threadId = `th-${i}`;
      client.doc.transact(() => {
        client.doc.getMap(THREADS).set(threadId, { id: threadId, createdBy: `writer-${i}`, createdAt: Date.now(), anchor: null, resolved: false, resolvedBy: null, resolvedAt: null, metadata: {} });
        client.doc.getMap(COMMENTS).set(`first-${i}`, comment(i, `first-${i}`, threadId));
      });
      return threadId;
    });
    await sleep(1000);
    await scrapeLoopP99(httpUrl);
    await sleep(QUIET_MS);
    const loopP99BeforeMs = await scrapeLoopP99(httpUrl);

    let sent = 0;
    const intervalMs = (1000 * ROOMS) / EVENTS_PER_SECOND;
    const stops = clients.map((client, i) =>
      startPaced(intervalMs, Math.random() * intervalMs, () => {
        const id = `cm-${i}-${sent}`;
        sent += 1;
        client.doc.getMap(COMMENTS).set(id, comment(i, id, threads[i]!));
      }),
    );
    await sleep(windowMs);
    for (const stop of stops) stop();
    const loopP99DuringMs = await scrapeLoopP99(httpUrl);
    context.log(`  ${configuration.label}: sent ${sent}, received ${receiver.ids.size} so far; draining`);
    if (configuration.endpoint) await waitFor(() => receiver.ids.size >= sent, DRAIN_TIMEOUT_MS, "deliveries").catch(() => undefined);
    await sleep(1000);
    const figures: WebhookFigures = {
      sent,
      received: receiver.ids.size,
      lost: configuration.endpoint ? Math.max(0, sent - receiver.ids.size) : Number.NaN,
      duplicates: receiver.duplicates,
      badSignatures: receiver.badSignatures,
      lagP50Ms: percentile(receiver.lags, 50),
      lagP99Ms: percentile(receiver.lags, 99),
      loopP99BeforeMs,
      loopP99DuringMs,
    };
    context.log(`  ${configuration.label}: lost ${figures.lost}, lag p99 ${fmt(figures.lagP99Ms)} ms, loop p99 ${fmt(loopP99BeforeMs, 1)} → ${fmt(loopP99DuringMs, 1)} ms`);
    return figures;
  } finally {
    for (const client of clients) client.destroy();
    await running.stop();
    await receiver.close();
  }
}

const webhooks: Benchmark = {
  name: "webhooks",
  description: "1,000 room events/s into a local webhook receiver: loss, delivery lag, event-loop delay before vs during",
  async run(context: BenchContext) {
    const windowMs = context.seconds ? context.seconds * 1000 : context.quick ? 5000 : 30_000;
    const selected = context.servers.length === 0 ? CONFIGURATIONS : CONFIGURATIONS.filter((c) => context.servers.includes(c.key));
    const results = await runInterleaved<Configuration, WebhookFigures>(context, selected, (c) => measure(context, c, windowMs));
    const table: Table = {
      title: `webhooks — ${EVENTS_PER_SECOND} commentCreated/s over ${ROOMS} rooms for ${windowMs / 1000} s, median of ${context.rounds} run${context.rounds > 1 ? "s" : ""}`,
      columns: ["server", "sent", "received", "lost", "duplicates", "lag p50 ms", "lag p99 ms", "loop p99 before ms", "loop p99 during ms"],
      rows: results.map((r) => [
        r.label,
        fmt(r.median.sent),
        fmt(r.median.received),
        fmt(r.median.lost),
        fmt(r.median.duplicates),
        fmt(r.median.lagP50Ms),
        fmt(r.median.lagP99Ms),
        fmt(r.median.loopP99BeforeMs, 1),
        fmt(r.median.loopP99DuringMs, 1),
      ]),
      notes: [
        "lost = sent − distinct webhook-ids received after the outbox drained (at most 120 s); every signature verified",
        "loop p99: the server's event-loop delay (prom-client, 10 ms resolution) over a quiet 5 s window vs over the load",
        "\"no endpoint\": the same load with webhooks unused — the rooms' own cost, for comparison",
      ],
    };
    return { tables: [table], data: { windowMs, rooms: ROOMS, eventsPerSecond: EVENTS_PER_SECOND, results } };
  },
};

export default webhooks;
