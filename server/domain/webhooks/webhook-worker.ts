/**
 * Delivers the webhook outbox (webhook-outbox.ts): at least once, in lanes per endpoint.
 *
 * Each endpoint is its own lane with at most `concurrencyPerEndpoint` requests in flight from this
 * process, so a slow or failing endpoint only ever holds its own lane: the others keep being
 * claimed and sent. A row is claimed by setting `locked_until` (a lease) — on PostgreSQL inside
 * `FOR UPDATE SKIP LOCKED`, so two processes never claim the same row, and a row claimed by a
 * process that then died is claimed again once its lease has passed (at-least-once: the receiver
 * dedupes on webhook-id). SQLite has one process by design.
 *
 * A failed attempt (network error, timeout, any non-2xx — redirects are not followed) is retried
 * along `retryScheduleMs` with the same webhook-id and a fresh timestamp and signature; after the
 * last one the row is `failed` (replayable). An endpoint failing without a single success for
 * `disableAfterMs` is disabled and `onDisabled` tells the organisation's Owners.
 */
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { Op, QueryTypes } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Statement } from "../../../db/driver.ts";
import { logger } from "../../logger.ts";
import { createGuardedLookup, isPrivateAddress } from "./url-guard.ts";
import { webhookHeaders } from "./webhook-signature.ts";

export interface WebhookWorkerOptions {
  db: Database;
  timeoutMs: number;
  /** Delays before each retry; the first attempt is immediate. */
  retryScheduleMs: number[];
  concurrencyPerEndpoint: number;
  disableAfterMs: number;
  allowPrivate: boolean;
  pollMs?: number;
  onDisabled?: (endpoint: { id: string; orgId: string; url: string }) => Promise<void>;
  /** Told after every attempt (the live log's `webhook` entries); must return at once. */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

/** One delivery attempt as `onAttempt` hears of it. */
export interface WebhookAttempt {
  orgId: string;
  endpointId: string;
  deliveryId: string;
  eventType: string;
  /** The delivery's JSON body (its data names the room). */
  payload: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The receiver's HTTP status; null when none came (network error, timeout, endpoint disabled). */
  status: number | null;
  ok: boolean;
  error: string | null;
}

interface Claimed {
  id: string;
  payload: string;
  attempts: number;
  event_type: string;
}

/** One endpoint's work in this process: claimed rows waiting, requests in flight. */
interface Lane {
  queue: Claimed[];
  inflight: number;
  endpoint: EndpointRow | null;
  /** A claim for this lane is in flight (one at a time); `again`: claim once more after it. */
  claiming: boolean;
  again: boolean;
}

/**
 * Rows claimed ahead per lane, in multiples of its concurrency: fewer claim round trips under load
 * (at 1,000 deliveries/s and 8 in flight, a claim every 64 ms), and a lease still bounded by
 * 8 rounds of the timeout.
 */
const CLAIM_AHEAD = 8;

/**
 * A lane claims again while it still has half of that waiting: the next rows arrive while these are
 * sent (a claim is a round trip to a database that is busy with the rooms' own writes), so a busy
 * lane never runs dry. A slow endpoint's lane stays above it and claims nothing more.
 */
function refillBelow(concurrency: number): number {
  return (CLAIM_AHEAD / 2) * concurrency;
}

interface EndpointRow {
  id: string;
  org_id: string;
  url: string;
  enabled: boolean | number;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | string | null;
  failing_since: Date | string | null;
}

const USER_AGENT = "SyncForge-Webhooks/1";
/** Finished deliveries stay in the log (and replayable) this long. */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 10 * 60 * 1000;

export class WebhookWorker {
  private readonly options: WebhookWorkerOptions;
  private readonly lanes = new Map<string, Lane>();
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly lookup: ReturnType<typeof createGuardedLookup>;
  private successes: Array<{ id: string; status: number; latencyMs: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  /** A keep-alive agent per endpoint (at most `concurrencyPerEndpoint` sockets): no new connection per delivery. */
  private readonly agents = new Map<string, { origin: string; agent: http.Agent }>();

  constructor(options: WebhookWorkerOptions) {
    this.options = options;
    this.lookup = createGuardedLookup(options.allowPrivate);
  }

  start(): void {
    let pruned = 0;
    const poll = () => {
      this.wake();
      if (Date.now() - pruned > PRUNE_EVERY_MS) {
        pruned = Date.now();
        void this.prune();
      }
      this.timer = setTimeout(poll, this.options.pollMs ?? 500);
      this.timer.unref();
    };
    poll();
  }

  /** Claim for these endpoints now (the outbox wrote rows for them), without looking for others. */
  wakeEndpoints(endpointIds: Iterable<string>): void {
    if (this.stopped) return;
    for (const id of endpointIds) void this.refill(id);
  }

  /** Look for due rows of every endpoint now (test, replay, a poll). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error: Error) => {
        logger.warn("Webhook worker could not claim deliveries", { error: error.message });
      })
      .finally(() => {
        this.ticking = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stop claiming; wait (bounded) for requests in flight. Unfinished rows are claimed again after their lease. */
  async close(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // Attempts finishing meanwhile add their successes' writes: wait until nothing is left.
    const settled = (async () => {
      await this.ticking;
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    })();
    await Promise.race([settled, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    // Claimed but never started: hand them back now rather than after their lease.
    const waiting = [...this.lanes.values()].flatMap((lane) => lane.queue.splice(0).map((row) => row.id));
    if (waiting.length > 0) {
      await this.options.db.models.WebhookDelivery.update({ lockedUntil: null }, { where: { id: waiting } }).catch((error: Error) => {
        logger.warn("Could not release claimed webhook deliveries; they are retried after their lease", { error: error.message });
      });
    }
    for (const { agent } of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  /** Drop finished deliveries older than the retention (any process may; the DELETE is idempotent). */
  private async prune(): Promise<void> {
    const { WebhookDelivery } = this.options.db.models;
    const before = new Date(Date.now() - DELIVERY_RETENTION_MS);
    await WebhookDelivery.destroy({ where: { status: ["succeeded", "failed"], createdAt: { [Op.lt]: before } } }).catch((error: Error) => {
      logger.warn("Could not prune old webhook deliveries", { error: error.message });
    });
  }

  private async tick(): Promise<void> {
    const now = new Date();
    const due = await this.options.db.sequelize.query<{ endpoint_id: string }>(
      `SELECT DISTINCT endpoint_id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= :now AND (locked_until IS NULL OR locked_until < :now) LIMIT 500`,
      { type: QueryTypes.SELECT, replacements: { now } },
    );
    for (const { endpoint_id: endpointId } of due) await this.refill(endpointId);
  }

  /**
   * Claim more rows for one endpoint's lane, when it runs low: a slow endpoint's lane stays full and
   * claims nothing more. One claim per lane at a time; a call during it claims again after it.
   */
  private async refill(endpointId: string): Promise<void> {
    let lane = this.lanes.get(endpointId);
    if (!lane) {
      lane = { queue: [], inflight: 0, endpoint: null, claiming: false, again: false };
      this.lanes.set(endpointId, lane);
    }
    if (lane.claiming) {
      lane.again = true;
      return;
    }
    const concurrency = this.options.concurrencyPerEndpoint;
    const room = CLAIM_AHEAD * concurrency - lane.queue.length - lane.inflight;
    if (lane.queue.length >= refillBelow(concurrency) || room <= 0 || this.stopped) return;
    lane.claiming = true;
    lane.again = false;
    try {
      const claimed = await this.claim(endpointId, room, new Date());
      if (claimed.length > 0) {
        lane.endpoint = await this.endpoint(endpointId);
        lane.queue.push(...claimed);
        this.pump(endpointId, lane);
      }
    } catch (error) {
      logger.warn("Webhook worker could not claim deliveries", { endpointId, error: (error as Error).message });
    } finally {
      lane.claiming = false;
      if (lane.again && !this.stopped) void this.refill(endpointId);
      else if (lane.inflight === 0 && lane.queue.length === 0 && this.lanes.get(endpointId) === lane) this.lanes.delete(endpointId);
    }
  }

  private pump(endpointId: string, lane: Lane): void {
    while (lane.inflight < this.options.concurrencyPerEndpoint && lane.queue.length > 0) this.run(endpointId, lane, lane.queue.shift()!);
  }

  private async claim(endpointId: string, limit: number, now: Date): Promise<Claimed[]> {
    // Long enough for every claimed row to be tried, `concurrency` at a time, each up to the timeout.
    const rounds = Math.ceil(limit / this.options.concurrencyPerEndpoint);
    const lease = new Date(now.getTime() + rounds * this.options.timeoutMs + 30_000);
    const { db } = this.options;
    if (db.dialect === "postgres") return (await db.driver.run<Claimed>(CLAIM, [endpointId, now, limit, lease])).rows;
    const select = `SELECT id FROM webhook_deliveries
        WHERE endpoint_id = :endpointId AND status = 'pending' AND next_attempt_at <= :now
          AND (locked_until IS NULL OR locked_until < :now)
        ORDER BY next_attempt_at, created_at LIMIT :limit`;
    // SQLite: one process, and its transactions take the write lock at BEGIN.
    return db.sequelize.transaction(async (transaction) => {
      const rows = await db.sequelize.query<Claimed>(select.replace("SELECT id", "SELECT id, payload, attempts, event_type"), {
        type: QueryTypes.SELECT,
        replacements: { endpointId, now, limit },
        transaction,
      });
      if (rows.length > 0) {
        await db.models.WebhookDelivery.update({ lockedUntil: lease }, { where: { id: rows.map((r) => r.id) }, transaction });
      }
      return rows;
    });
  }

  private async endpoint(id: string): Promise<EndpointRow | null> {
    const { db } = this.options;
    if (db.dialect === "postgres") return (await db.driver.query<EndpointRow>(ENDPOINT, [id]))[0] ?? null;
    const [row] = await this.options.db.sequelize.query<EndpointRow>(
      `SELECT id, org_id, url, enabled, secret, previous_secret, previous_secret_expires_at, failing_since FROM webhook_endpoints WHERE id = :id`,
      { type: QueryTypes.SELECT, replacements: { id } },
    );
    return row ?? null;
  }

  private run(endpointId: string, lane: Lane, row: Claimed): void {
    lane.inflight += 1;
    const done = this.attempt(lane.endpoint, row)
      .catch((error: Error) => {
        logger.error("Webhook delivery bookkeeping failed", { deliveryId: row.id, error: error.message });
      })
      .finally(() => {
        this.inflight.delete(done);
        lane.inflight -= 1;
        if (this.stopped) return;
        this.pump(endpointId, lane);
        if (lane.queue.length < refillBelow(this.options.concurrencyPerEndpoint)) void this.refill(endpointId);
      });
    this.inflight.add(done);
  }

  private async attempt(endpoint: EndpointRow | null, row: Claimed): Promise<void> {
    const { WebhookDelivery } = this.options.db.models;
    if (!endpoint || !endpoint.enabled) {
      await WebhookDelivery.update({ status: "failed", lockedUntil: null, lastError: "endpoint disabled" }, { where: { id: row.id } });
      if (endpoint) this.report(endpoint, row, { ok: false, status: null, error: "endpoint disabled" });
      return;
    }
    const started = new Date();
    const result = await this.post(endpoint, row);
    this.report(endpoint, row, result);
    const attempts = row.attempts + 1;
    const common = { attempts, lastAttemptAt: started, responseStatus: result.status, latencyMs: result.latencyMs, lockedUntil: null };
    if (result.ok) {
      // The slot is free once the receiver has answered; the row is written in the background,
      // with the turn's other successes, and stays leased until then (a crash before that
      // commit sends it again: at least once).
      this.track(this.recordSuccess(row.id, result.status!, result.latencyMs), row.id);
      if (endpoint.failing_since) {
        endpoint.failing_since = null;
        this.track(this.options.db.models.WebhookEndpoint.update({ failingSince: null }, { where: { id: endpoint.id } }), row.id);
      }
      return;
    }
    const delay = this.options.retryScheduleMs[attempts - 1];
    await WebhookDelivery.update(
      delay === undefined
        ? { ...common, status: "failed", lastError: result.error, nextAttemptAt: null }
        : { ...common, lastError: result.error, nextAttemptAt: new Date(Date.now() + delay) },
      { where: { id: row.id } },
    );
    await this.recordFailure(endpoint, started);
  }

  /** Background bookkeeping that close() waits for. */
  private track(work: Promise<unknown>, deliveryId: string): void {
    const done: Promise<void> = work
      .then(() => undefined)
      .catch((error: Error) => {
        logger.error("Webhook delivery bookkeeping failed", { deliveryId, error: error.message });
      })
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  private report(endpoint: EndpointRow, row: Claimed, result: { ok: boolean; status: number | null; error: string | null }): void {
    const { onAttempt } = this.options;
    if (!onAttempt) return;
    try {
      onAttempt({
        orgId: endpoint.org_id,
        endpointId: endpoint.id,
        deliveryId: row.id,
        eventType: row.event_type,
        payload: row.payload,
        attempt: row.attempts + 1,
        status: result.status,
        ok: result.ok,
        error: result.error,
      });
    } catch (error) {
      logger.warn("A webhook attempt listener failed", { deliveryId: row.id, error: (error as Error).message });
    }
  }

  /**
   * Successes are written together, one UPDATE per event-loop turn: under load a statement per
   * delivery would cost more than the deliveries. The row stays claimed (leased) until then.
   */
  private recordSuccess(id: string, status: number, latencyMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.successes.push({ id, status, latencyMs, resolve, reject });
      if (this.successes.length > 1) return;
      setImmediate(() => {
        const batch = this.successes.splice(0);
        this.flushSuccesses(batch).then(
          () => batch.forEach((s) => s.resolve()),
          (error: unknown) => batch.forEach((s) => s.reject(error)),
        );
      });
    });
  }

  private async flushSuccesses(batch: Array<{ id: string; status: number; latencyMs: number }>): Promise<void> {
    const { db } = this.options;
    if (db.dialect === "postgres") {
      await db.driver.run(SUCCEEDED, [batch.map((s) => s.id), batch.map((s) => s.status), batch.map((s) => s.latencyMs), new Date()]);
      return;
    }
    const replacements: Record<string, unknown> = { now: new Date() };
    const statusCases: string[] = [];
    const latencyCases: string[] = [];
    batch.forEach((s, i) => {
      replacements[`i${i}`] = s.id;
      replacements[`s${i}`] = s.status;
      replacements[`l${i}`] = s.latencyMs;
      statusCases.push(`WHEN :i${i} THEN :s${i}`);
      latencyCases.push(`WHEN :i${i} THEN :l${i}`);
    });
    replacements.ids = batch.map((s) => s.id);
    await this.options.db.sequelize.query(
      `UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, last_attempt_at = :now, delivered_at = :now,
         updated_at = :now, last_error = NULL, next_attempt_at = NULL, locked_until = NULL,
         response_status = CASE id ${statusCases.join(" ")} END, latency_ms = CASE id ${latencyCases.join(" ")} END
       WHERE id IN (:ids)`,
      { replacements },
    );
  }

  private async recordFailure(endpoint: EndpointRow, at: Date): Promise<void> {
    const { WebhookEndpoint } = this.options.db.models;
    if (!endpoint.failing_since) {
      await WebhookEndpoint.update({ failingSince: at }, { where: { id: endpoint.id, failingSince: null } });
      endpoint.failing_since = at;
      return;
    }
    if (at.getTime() - new Date(endpoint.failing_since).getTime() < this.options.disableAfterMs) return;
    const [changed] = await WebhookEndpoint.update({ enabled: false, disabledReason: "failing" }, { where: { id: endpoint.id, enabled: true } });
    endpoint.enabled = false;
    if (changed === 0) return;
    logger.warn("Disabled a webhook endpoint that kept failing", { orgId: endpoint.org_id, endpointId: endpoint.id });
    await this.options.onDisabled?.({ id: endpoint.id, orgId: endpoint.org_id, url: endpoint.url });
  }

  /** One POST: signed now, no redirects, a hard timeout, private addresses refused after DNS. */
  private post(endpoint: EndpointRow, row: Claimed): Promise<{ ok: boolean; status: number | null; latencyMs: number; error: string | null }> {
    const started = performance.now();
    const finish = (status: number | null, error: string | null) => ({
      ok: status !== null && status >= 200 && status < 300,
      status,
      latencyMs: Math.round(performance.now() - started),
      error,
    });
    const url = new URL(endpoint.url);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    if (!this.options.allowPrivate && isIP(host) && isPrivateAddress(host)) return Promise.resolve(finish(null, "refused: private address"));
    const secrets = [endpoint.secret];
    const previousUntil = endpoint.previous_secret_expires_at ? new Date(endpoint.previous_secret_expires_at).getTime() : 0;
    if (endpoint.previous_secret && previousUntil > Date.now()) secrets.push(endpoint.previous_secret);
    const body = row.payload;
    const headers = {
      ...webhookHeaders(secrets, row.id, Math.floor(Date.now() / 1000), body),
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "user-agent": USER_AGENT,
    };
    const transport = url.protocol === "https:" ? https : http;
    const agent = this.agentFor(endpoint.id, url);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (status: number | null, error: string | null) => {
        if (settled) return;
        settled = true;
        resolve(finish(status, error));
      };
      const request = transport.request(url, { method: "POST", headers, agent, lookup: this.lookup, timeout: this.options.timeoutMs }, (response) => {
        const status = response.statusCode ?? null;
        // Drain (and cap) the body: the answer's content is not used, only its status.
        let seen = 0;
        response.on("data", (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 64 * 1024) response.destroy();
        });
        response.on("end", () => settle(status, status !== null && status >= 300 ? `HTTP ${status}` : null));
        response.on("error", () => settle(status, status !== null && status >= 300 ? `HTTP ${status}` : null));
        response.on("close", () => settle(status, status !== null && status >= 300 ? `HTTP ${status}` : null));
      });
      // The whole exchange, not just socket idleness, is bounded by the timeout.
      const deadline = setTimeout(() => request.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      request.on("timeout", () => request.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`)));
      request.on("error", (error: Error) => settle(null, error.message.slice(0, 500)));
      request.on("close", () => clearTimeout(deadline));
      request.end(body);
    });
  }

  /** The endpoint's keep-alive agent, made again when its URL moved to another origin. */
  private agentFor(endpointId: string, url: URL): http.Agent {
    const known = this.agents.get(endpointId);
    if (known && known.origin === url.origin) return known.agent;
    known?.agent.destroy();
    const options = { keepAlive: true, maxSockets: this.options.concurrencyPerEndpoint, timeout: 60_000 };
    const agent = url.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
    this.agents.set(endpointId, { origin: url.origin, agent });
    return agent;
  }
}

/**
 * The hot statements on PostgreSQL, through the driver (prepared once per connection): under load
 * Sequelize's query building and its shared pool (which the rooms' own writes queue on) cost the
 * worker more than the deliveries. SQLite keeps Sequelize: one process, one writer.
 */
const CLAIM: Statement = {
  name: "webhook-claim",
  text: `UPDATE webhook_deliveries SET locked_until = $4 WHERE id IN (
      SELECT id FROM webhook_deliveries
        WHERE endpoint_id = $1 AND status = 'pending' AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2)
        ORDER BY next_attempt_at, created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING id, payload, attempts, event_type`,
};

const ENDPOINT: Statement = {
  name: "webhook-endpoint",
  text: `SELECT id, org_id, url, enabled, secret, previous_secret, previous_secret_expires_at, failing_since FROM webhook_endpoints WHERE id = $1`,
};

const SUCCEEDED: Statement = {
  name: "webhook-succeeded",
  text: `UPDATE webhook_deliveries AS d SET status = 'succeeded', attempts = d.attempts + 1, last_attempt_at = $4, delivered_at = $4,
      updated_at = $4, last_error = NULL, next_attempt_at = NULL, locked_until = NULL, response_status = s.status, latency_ms = s.latency
    FROM unnest($1::text[], $2::int[], $3::int[]) AS s(id, status, latency) WHERE d.id = s.id`,
};
