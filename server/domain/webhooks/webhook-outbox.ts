/**
 * The webhook outbox: each event becomes one `webhook_deliveries` row per endpoint that subscribes
 * to it, and the worker (webhook-worker.ts) only ever delivers rows. An event with a write of its
 * own (a room created or deleted, a notification stored) writes its rows in that write's transaction
 * (`writeInTransaction`): the event and its deliveries commit together or not at all. An event that
 * is the consequence of a commit elsewhere (a document update in the update log, a connection)
 * is written right after (`enqueue`), group-committed once per event-loop turn like the update log,
 * and retried until it commits: once the INSERT has committed, a kill -9 loses nothing.
 */
import { randomUUID } from "node:crypto";
import { ForeignKeyConstraintError, type Transaction } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Statement } from "../../../db/driver.ts";
import { logger } from "../../logger.ts";
import { webhookPayload, type WebhookEvent, type WebhookEventType } from "./webhook-events.ts";

/** What the outbox needs to know of an endpoint. */
export interface EndpointTarget {
  id: string;
  events: ReadonlySet<string>;
}

export interface WebhookOutboxOptions {
  db: Database;
  /** The enabled endpoints of an organisation (cached by the service). */
  endpointsOf: (orgId: string, transaction?: Transaction) => Promise<EndpointTarget[]>;
  /** Told after rows commit (with their endpoints), so this process's worker looks at once instead of at its next poll. */
  onWritten?: (endpointIds: ReadonlySet<string>) => void;
  /** Told when a cached endpoint list named an endpoint deleted since (another process deleted it). */
  forget?: (orgId: string) => void;
}

const RETRY_MAX_MS = 5000;

export function newDeliveryId(): string {
  return `msg_${randomUUID().replace(/-/g, "")}`;
}

export class WebhookOutbox {
  private readonly options: WebhookOutboxOptions;
  private queue: WebhookEvent[] = [];
  private scheduled = false;
  private readonly inflight = new Set<Promise<void>>();
  /** Coalescing keys already written by this process (ydocUpdated windows), pruned as they pass. */
  private readonly writtenKeys = new Map<string, number>();

  constructor(options: WebhookOutboxOptions) {
    this.options = options;
  }

  /** Rows of `event` inside the caller's transaction: they commit with the event's own write. */
  async writeInTransaction(event: WebhookEvent, transaction: Transaction): Promise<void> {
    const rows = await this.rowsOf([event], transaction);
    if (rows.length === 0) return;
    await this.options.db.models.WebhookDelivery.bulkCreate(rows, { transaction, ignoreDuplicates: true });
    // The worker learns of them at its next poll or when the caller's transaction has committed.
    transaction.afterCommit(() => this.options.onWritten?.(new Set(rows.map((r) => r.endpointId))));
  }

  /** Queue an event that already happened; written with the others of this turn. */
  enqueue(event: WebhookEvent): void {
    if (event.dedupeKey !== undefined) {
      if (this.writtenKeys.has(event.dedupeKey)) return;
      this.writtenKeys.set(event.dedupeKey, (event.notBefore ?? new Date()).getTime());
    }
    this.queue.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.queue;
      this.queue = [];
      const written = this.write(batch).finally(() => this.inflight.delete(written));
      this.inflight.add(written);
    });
  }

  /** Resolves when every event queued so far is written. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled || this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight]);
      if (this.scheduled) await new Promise((r) => setImmediate(r));
    }
  }

  private async write(events: WebhookEvent[]): Promise<void> {
    this.pruneKeys();
    let reread = false;
    for (let failures = 0; ; failures++) {
      try {
        const rows = await this.rowsOf(events);
        if (rows.length > 0) {
          await this.insert(rows);
          this.options.onWritten?.(new Set(rows.map((r) => r.endpointId)));
        }
        return;
      } catch (error) {
        if (isForeignKeyError(error) && !reread) {
          reread = true;
          // An endpoint was deleted after the list was cached: read the lists again and retry at once.
          for (const orgId of new Set(events.map((e) => e.orgId))) this.options.forget?.(orgId);
          continue;
        }
        // The events happened: keep trying rather than drop them (the database may be restarting).
        logger.warn("Could not write webhook deliveries; retrying", { events: events.length, error: (error as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, 100 * 2 ** failures)));
      }
    }
  }

  /**
   * One INSERT for the turn's rows. On PostgreSQL through the driver, the rows as one JSON
   * parameter of a prepared statement: building a Sequelize instance per row (bulkCreate) cost more
   * than the deliveries under 1,000 events/s. SQLite (one process, one writer) keeps bulkCreate.
   */
  private async insert(rows: DeliveryRow[]): Promise<void> {
    const { db } = this.options;
    if (db.dialect !== "postgres") {
      await db.models.WebhookDelivery.bulkCreate(rows, { ignoreDuplicates: true });
      return;
    }
    const json = JSON.stringify(
      rows.map((r) => ({
        id: r.id,
        endpoint_id: r.endpointId,
        org_id: r.orgId,
        event_type: r.eventType,
        payload: r.payload,
        dedupe_key: r.dedupeKey,
        next_attempt_at: r.nextAttemptAt.toISOString(),
      })),
    );
    await db.driver.run(INSERT_DELIVERIES, [json, new Date()]);
  }

  private async rowsOf(events: WebhookEvent[], transaction?: Transaction): Promise<DeliveryRow[]> {
    const rows: DeliveryRow[] = [];
    const byOrg = new Map<string, EndpointTarget[]>();
    for (const event of events) {
      let endpoints = byOrg.get(event.orgId);
      if (!endpoints) byOrg.set(event.orgId, (endpoints = await this.options.endpointsOf(event.orgId, transaction)));
      for (const endpoint of endpoints) {
        if (!endpoint.events.has(event.type)) continue;
        rows.push(deliveryRow(endpoint.id, event));
      }
    }
    return rows;
  }

  private pruneKeys(): void {
    const now = Date.now();
    for (const [key, until] of this.writtenKeys) if (until < now - 60_000) this.writtenKeys.delete(key);
  }
}

const INSERT_DELIVERIES: Statement = {
  name: "webhook-outbox-insert",
  text: `INSERT INTO webhook_deliveries (id, endpoint_id, org_id, event_type, payload, dedupe_key, status, attempts, next_attempt_at, created_at, updated_at)
    SELECT r.id, r.endpoint_id, r.org_id, r.event_type, r.payload, r.dedupe_key, 'pending', 0, r.next_attempt_at, $2, $2
      FROM json_to_recordset($1::json) AS r(id text, endpoint_id text, org_id text, event_type text, payload text, dedupe_key text, next_attempt_at timestamptz)
    ON CONFLICT DO NOTHING`,
};

/** Sequelize's, or PostgreSQL's own through the driver (23503). */
function isForeignKeyError(error: unknown): boolean {
  return error instanceof ForeignKeyConstraintError || (error as { code?: string } | null)?.code === "23503";
}

/** A type, not an interface: Sequelize's create/bulkCreate take it as a plain record. */
export type DeliveryRow = {
  id: string;
  endpointId: string;
  orgId: string;
  eventType: WebhookEventType;
  payload: string;
  dedupeKey: string | null;
  status: "pending";
  attempts: number;
  nextAttemptAt: Date;
};

/** One outbox row; `extra` goes at the top level of the payload (the test event's `"test": true`). */
export function deliveryRow(endpointId: string, event: WebhookEvent, extra: Record<string, unknown> = {}): DeliveryRow {
  return {
    id: newDeliveryId(),
    endpointId,
    orgId: event.orgId,
    eventType: event.type satisfies WebhookEventType,
    payload: webhookPayload(event, extra),
    dedupeKey: event.dedupeKey ?? null,
    status: "pending",
    attempts: 0,
    nextAttemptAt: event.notBefore ?? new Date(),
  };
}
