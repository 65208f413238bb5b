/**
 * An organisation's webhook endpoints and their delivery log (issue 22). Owners and Admins (and the
 * org's API keys) manage them over /api/organizations/:org_id/webhooks. The secret is shown in the
 * create and roll answers only; after a roll the previous secret keeps signing beside the new one
 * for 24 h (two `v1,` signatures), so receivers can switch without dropping a delivery.
 */
import { Op, type Transaction } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Statement } from "../../../db/driver.ts";
import type { WebhookDelivery, WebhookEndpoint } from "../../../db/models/index.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../../errors.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import { newWebhookSecret } from "./webhook-signature.ts";
import { assertPublicUrl, parseEndpointUrl } from "./url-guard.ts";
import { sampleEvent, type WebhookEventType } from "./webhook-events.ts";
import { deliveryRow, newDeliveryId, type EndpointTarget } from "./webhook-outbox.ts";

export const SECRET_ROLL_GRACE_MS = 24 * 3600 * 1000;
/** Every event is written once per subscribed endpoint: a cap keeps one org from multiplying the outbox. */
export const MAX_ENDPOINTS_PER_ORG = 20;
/** Enabled endpoints per org are cached this long; another process's change is seen within it and one read. */
const ENDPOINT_CACHE_MS = 1000;

/** An organisation's enabled endpoints as read at `at` (once `ready`); `refreshing`: the next read is under way. */
interface CachedTargets {
  at: number;
  targets: Promise<EndpointTarget[]>;
  ready: boolean;
  refreshing: boolean;
}

const ENABLED_ENDPOINTS: Statement = {
  name: "webhook-enabled-endpoints",
  text: "SELECT id, events FROM webhook_endpoints WHERE org_id = $1 AND enabled = true",
};

export interface WebhookEndpointView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  failingSince: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookDeliveryView {
  id: string;
  endpointId: string;
  type: string;
  status: string;
  attempts: number;
  responseStatus: number | null;
  latencyMs: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  payload?: unknown;
}

export interface EndpointInput {
  url: string;
  events: WebhookEventType[];
  description?: string | null;
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

export function toEndpointView(row: WebhookEndpoint): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: iso(row.failingSince),
    previousSecretExpiresAt: row.previousSecretExpiresAt && row.previousSecretExpiresAt.getTime() > Date.now() ? row.previousSecretExpiresAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toDeliveryView(row: WebhookDelivery, withPayload = false): WebhookDeliveryView {
  return {
    id: row.id,
    endpointId: row.endpointId,
    type: row.eventType,
    status: row.status,
    attempts: row.attempts,
    responseStatus: row.responseStatus,
    latencyMs: row.latencyMs,
    lastError: row.lastError,
    lastAttemptAt: iso(row.lastAttemptAt),
    nextAttemptAt: row.status === "pending" ? iso(row.nextAttemptAt) : null,
    deliveredAt: iso(row.deliveredAt),
    createdAt: row.createdAt.toISOString(),
    ...(withPayload ? { payload: JSON.parse(row.payload) as unknown } : {}),
  };
}

export class WebhookService {
  private readonly db: Database;
  private readonly allowPrivate: boolean;
  private readonly cache = new Map<string, CachedTargets>();
  /** Told when deliveries were made due (test, replay), so the worker looks at once. */
  onDue: () => void = () => {};

  constructor(options: { db: Database; allowPrivate: boolean }) {
    this.db = options.db;
    this.allowPrivate = options.allowPrivate;
  }

  async create(orgId: string, input: EndpointInput): Promise<WebhookEndpointView & { secret: string }> {
    const url = await this.checkedUrl(input.url);
    if ((await this.db.models.WebhookEndpoint.count({ where: { orgId } })) >= MAX_ENDPOINTS_PER_ORG) {
      throw new ConflictError(`An organization has at most ${MAX_ENDPOINTS_PER_ORG} webhook endpoints`, "webhook_limit_reached");
    }
    const secret = newWebhookSecret();
    const row = await this.db.models.WebhookEndpoint.create({
      id: `ep_${newDeliveryId().slice(4)}`,
      orgId,
      url,
      description: input.description ?? null,
      events: JSON.stringify(input.events),
      enabled: true,
      secret,
    });
    this.cache.delete(orgId);
    return { ...toEndpointView(row), secret };
  }

  async list(orgId: string): Promise<WebhookEndpointView[]> {
    const rows = await this.db.models.WebhookEndpoint.findAll({ where: { orgId }, order: [["createdAt", "ASC"], ["id", "ASC"]] });
    return rows.map(toEndpointView);
  }

  async get(orgId: string, id: string): Promise<WebhookEndpointView> {
    return toEndpointView(await this.find(orgId, id));
  }

  async update(orgId: string, id: string, patch: Partial<EndpointInput> & { enabled?: boolean }): Promise<WebhookEndpointView> {
    const row = await this.find(orgId, id);
    const changes: Record<string, unknown> = {};
    if (patch.url !== undefined) changes.url = await this.checkedUrl(patch.url);
    if (patch.events !== undefined) changes.events = JSON.stringify(patch.events);
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.enabled !== undefined) {
      changes.enabled = patch.enabled;
      changes.disabledReason = patch.enabled ? null : "manual";
      // Enabling again starts the failure clock afresh.
      if (patch.enabled) changes.failingSince = null;
    }
    await row.update(changes);
    this.cache.delete(orgId);
    return toEndpointView(row);
  }

  async delete(orgId: string, id: string): Promise<void> {
    const row = await this.find(orgId, id);
    await this.db.models.WebhookDelivery.destroy({ where: { endpointId: row.id } });
    await row.destroy();
    this.cache.delete(orgId);
  }

  /** A new secret; the previous one keeps signing for SECRET_ROLL_GRACE_MS (a second roll ends it). */
  async rollSecret(orgId: string, id: string): Promise<WebhookEndpointView & { secret: string }> {
    const row = await this.find(orgId, id);
    const secret = newWebhookSecret();
    await row.update({ previousSecret: row.secret, previousSecretExpiresAt: new Date(Date.now() + SECRET_ROLL_GRACE_MS), secret });
    return { ...toEndpointView(row), secret };
  }

  /** Queue a sample event of `type` (default: the endpoint's first) marked `"test": true`. */
  async sendTest(orgId: string, id: string, type?: WebhookEventType): Promise<WebhookDeliveryView> {
    const row = await this.find(orgId, id);
    const eventType = type ?? (JSON.parse(row.events) as WebhookEventType[])[0]!;
    const created = await this.db.models.WebhookDelivery.create(deliveryRow(row.id, sampleEvent(orgId, eventType), { test: true }));
    this.onDue();
    return toDeliveryView(created);
  }

  /** Newest first; keyset cursor. */
  async deliveries(orgId: string, id: string, options: { limit?: number; cursor?: string; status?: string } = {}): Promise<{ data: WebhookDeliveryView[]; nextCursor: string | null }> {
    const endpoint = await this.find(orgId, id);
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 100);
    const where: Record<string | symbol, unknown> = { endpointId: endpoint.id };
    if (options.status) where.status = options.status;
    if (options.cursor) {
      const c = decodeCursor(options.cursor);
      where[Op.or] = [{ createdAt: { [Op.lt]: c.at } }, { createdAt: c.at, id: { [Op.lt]: c.id } }];
    }
    const rows = await this.db.models.WebhookDelivery.findAll({ where, order: [["createdAt", "DESC"], ["id", "DESC"]], limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map((r) => toDeliveryView(r)), nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  async delivery(orgId: string, id: string, deliveryId: string): Promise<WebhookDeliveryView> {
    return toDeliveryView(await this.findDelivery(orgId, id, deliveryId), true);
  }

  /** Send one delivery again, now, with a fresh retry schedule and the same webhook-id. */
  async replay(orgId: string, id: string, deliveryId: string): Promise<WebhookDeliveryView> {
    const row = await this.findDelivery(orgId, id, deliveryId);
    await row.update({ status: "pending", attempts: 0, nextAttemptAt: new Date(), lockedUntil: null });
    this.onDue();
    return toDeliveryView(row);
  }

  /** Replay the deliveries created in [since, until): the failed ones, or all with `include: "all"`. */
  async replayRange(orgId: string, id: string, range: { since: Date; until: Date; include: "failed" | "all" }): Promise<{ replayed: number }> {
    const endpoint = await this.find(orgId, id);
    if (range.until.getTime() <= range.since.getTime()) throw new BadRequestError("until must be after since", "invalid_range");
    const [replayed] = await this.db.models.WebhookDelivery.update(
      { status: "pending", attempts: 0, nextAttemptAt: new Date(), lockedUntil: null },
      {
        where: {
          endpointId: endpoint.id,
          createdAt: { [Op.gte]: range.since, [Op.lt]: range.until },
          status: range.include === "all" ? { [Op.in]: ["succeeded", "failed"] } : "failed",
        },
      },
    );
    this.onDue();
    return { replayed };
  }

  /**
   * The enabled endpoints of an organisation with their events (the outbox fans out to these).
   * Inside a transaction the query runs on that transaction's connection: taking a second pooled
   * connection while holding one can exhaust the pool under concurrent writes (every holder waits
   * for a connection that only another holder could return).
   */
  endpointsOf(orgId: string, transaction?: Transaction): Promise<EndpointTarget[]> {
    // In a transaction, always read: the rows written there must name endpoints that exist now.
    if (transaction) return this.readTargets(orgId, transaction);
    const cached = this.cache.get(orgId);
    if (cached && (!cached.ready || Date.now() - cached.at < ENDPOINT_CACHE_MS)) return cached.targets;
    if (cached) {
      // Expired: it keeps serving while the next list is read, so the outbox's writes never wait on
      // that read under load (an endpoint deleted meanwhile is caught by the foreign key; one
      // disabled meanwhile fails its rows as "endpoint disabled").
      if (!cached.refreshing) {
        cached.refreshing = true;
        const next = this.readTargets(orgId);
        next.then(
          () => {
            if (this.cache.get(orgId) === cached) this.cache.set(orgId, { at: Date.now(), targets: next, ready: true, refreshing: false });
          },
          () => {
            cached.refreshing = false;
          },
        );
      }
      return cached.targets;
    }
    const entry: CachedTargets = { at: Date.now(), targets: this.readTargets(orgId), ready: false, refreshing: false };
    this.cache.set(orgId, entry);
    entry.targets.then(
      () => {
        entry.ready = true;
        entry.at = Date.now();
      },
      () => {
        if (this.cache.get(orgId) === entry) this.cache.delete(orgId);
      },
    );
    return entry.targets;
  }

  private readTargets(orgId: string, transaction?: Transaction): Promise<EndpointTarget[]> {
    const toTargets = (rows: Array<{ id: string; events: string }>) => rows.map((r) => ({ id: r.id, events: new Set(JSON.parse(r.events) as string[]) }));
    // Outside transactions on PostgreSQL through the driver: Sequelize's pool is the rooms' own.
    if (!transaction && this.db.dialect === "postgres") return this.db.driver.query<{ id: string; events: string }>(ENABLED_ENDPOINTS, [orgId]).then(toTargets);
    return this.db.models.WebhookEndpoint.findAll({ where: { orgId, enabled: true }, attributes: ["id", "events"], transaction }).then(toTargets);
  }

  /** Forget cached endpoints (the worker disabled one). */
  forget(orgId: string): void {
    this.cache.delete(orgId);
  }

  private async checkedUrl(raw: string): Promise<string> {
    const url = parseEndpointUrl(raw);
    await assertPublicUrl(url, this.allowPrivate);
    return url.toString();
  }

  private async find(orgId: string, id: string): Promise<WebhookEndpoint> {
    const row = await this.db.models.WebhookEndpoint.findOne({ where: { orgId, id } });
    if (!row) throw new NotFoundError("Webhook endpoint not found", "webhook_not_found");
    return row;
  }

  private async findDelivery(orgId: string, id: string, deliveryId: string): Promise<WebhookDelivery> {
    const endpoint = await this.find(orgId, id);
    const row = await this.db.models.WebhookDelivery.findOne({ where: { endpointId: endpoint.id, id: deliveryId } });
    if (!row) throw new NotFoundError("Delivery not found", "delivery_not_found");
    return row;
  }
}
