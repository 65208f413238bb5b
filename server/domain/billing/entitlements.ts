/**
 * What an organisation may use now: its effective plan, limits and features (issue 19,
 * docs/billing.md). Read at every connection and comment write, so answers come from memory: the
 * two rows they depend on (the organisation's operator overrides, its billing account) are loaded
 * once per organisation and kept; the effective plan is computed from them and the clock at each
 * read, so a past-due grace period ends on time without a reload.
 *
 * Rules, in order:
 *   1. an operator's plan override (`npm run admin -- set-plan`) wins, with or without billing;
 *   2. billing off (no STRIPE_SECRET_KEY): no plan, no limits, every feature;
 *   3. billing on: an active or trialing subscription gives its plan; a past-due one keeps it for
 *      PAST_DUE_GRACE_DAYS after past_due_since; anything else (none, canceled, unpaid, …) is Free.
 * An operator's limit overrides replace the resulting plan's limits. Data is never deleted by a
 * downgrade: what is over a limit stays, only new rooms, users and writes are refused.
 *
 * `invalidate(orgId)` is the hook for whoever changes those rows (the Stripe webhooks, the admin
 * CLI): it reaches every process through the control channel (server/realtime/control-events.ts);
 * a process that misses it reloads after `ttlMs` (60 s) anyway.
 */
import type { Database } from "../../../db/index.ts";
import { ForbiddenError } from "../../errors.ts";
import { logger } from "../../logger.ts";
import { systemClock, type Clock } from "../clock.ts";
import { UNLIMITED } from "./plan-overrides.ts";
import { PAST_DUE_GRACE_DAYS, PLANS, isPlanId, type Feature, type Plan, type PlanId, type PlanLimits } from "./plans.ts";

const ALL_FEATURES: readonly Feature[] = ["presence", "comments", "notifications", "webhooks", "analytics", "sso"];
const DAY_MS = 24 * 3600 * 1000;

/** How the API names the absence of a plan (billing off, no operator plan): no limits. */
export const NO_PLAN = { id: "self_hosted", name: "Self-hosted (no plan)" } as const;

/** Where the effective plan comes from. */
export type EntitlementSource = "override" | "subscription" | "past_due_grace" | "default" | "unmetered";

export interface Entitlement {
  /** null: billing is off and no operator set a plan (no limits, every feature). */
  plan: Plan | null;
  source: EntitlementSource;
  limits: PlanLimits;
  features: ReadonlySet<Feature>;
  billingEnabled: boolean;
}

/** The stored facts an entitlement is computed from. */
export interface EntitlementInputs {
  override: { plan: PlanId | null; monthlyActiveUsers: number | null; rooms: number | null };
  subscription: { plan: string | null; status: string; pastDueSince: Date | null } | null;
}

const NO_OVERRIDE: EntitlementInputs["override"] = { plan: null, monthlyActiveUsers: null, rooms: null };

/** The effective plan for stored inputs at time `now` (pure; the rules are in the file header). */
export function resolveEntitlement(inputs: EntitlementInputs, billingEnabled: boolean, now: Date): Entitlement {
  const { override, subscription } = inputs;
  let plan: Plan | null;
  let source: EntitlementSource;
  if (override.plan) {
    plan = PLANS[override.plan];
    source = "override";
  } else if (!billingEnabled) {
    plan = null;
    source = "unmetered";
  } else {
    const paid = subscription && isPlanId(subscription.plan) ? PLANS[subscription.plan] : null;
    const status = subscription?.status ?? "none";
    if (paid && (status === "active" || status === "trialing")) {
      plan = paid;
      source = "subscription";
    } else if (paid && status === "past_due" && withinGrace(subscription?.pastDueSince ?? null, now)) {
      plan = paid;
      source = "past_due_grace";
    } else {
      plan = PLANS.free;
      source = "default";
    }
  }
  const base: PlanLimits = plan?.limits ?? { monthlyActiveUsers: null, rooms: null };
  return {
    plan,
    source,
    limits: {
      monthlyActiveUsers: overridden(override.monthlyActiveUsers, base.monthlyActiveUsers),
      rooms: overridden(override.rooms, base.rooms),
    },
    features: new Set(plan?.features ?? ALL_FEATURES),
    billingEnabled,
  };
}

/** An operator's limit (UNLIMITED: none) or, without one, the plan's. */
function overridden(operator: number | null, plan: number | null): number | null {
  if (operator === null) return plan;
  return operator >= UNLIMITED ? null : operator;
}

/** A subscription past due since `since` keeps its plan for PAST_DUE_GRACE_DAYS (no date: from now on, i.e. still inside). */
function withinGrace(since: Date | null, now: Date): boolean {
  if (!since) return true;
  return now.getTime() < since.getTime() + PAST_DUE_GRACE_DAYS * DAY_MS;
}

export interface EntitlementsOptions {
  db: Database;
  /** config.stripe.secretKey !== null. */
  billingEnabled: boolean;
  clock?: Clock;
  /** How long loaded inputs are trusted without an invalidation (ms); default 60 s. */
  ttlMs?: number;
}

interface Entry {
  inputs: EntitlementInputs;
  loadedAt: number;
}

export class Entitlements {
  readonly billingEnabled: boolean;
  /**
   * Tell every process that an organisation's plan inputs changed; the composition root points it
   * at the control channel, whose handler calls `forget` in each process. Alone: forget here.
   */
  broadcast: (orgId: string) => Promise<void> = async (orgId) => this.forget(orgId);

  private readonly db: Database;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly cache = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  // Bumped by forget: inputs loaded before an invalidation arrived are used once, not cached.
  private generation = 0;

  constructor(options: EntitlementsOptions) {
    this.db = options.db;
    this.billingEnabled = options.billingEnabled;
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  /** The organisation's entitlement; a database read only on the first call (and after invalidation or the TTL). */
  async get(orgId: string): Promise<Entitlement> {
    const entry = this.fresh(orgId) ?? (await this.load(orgId));
    return resolveEntitlement(entry.inputs, this.billingEnabled, this.clock());
  }

  /** From memory only: undefined when the organisation is not loaded (a load starts). Stale answers start a reload. */
  peek(orgId: string): Entitlement | undefined {
    const entry = this.cache.get(orgId);
    if (!entry || this.isStale(entry)) void this.load(orgId).catch(() => {});
    return entry ? resolveEntitlement(entry.inputs, this.billingEnabled, this.clock()) : undefined;
  }

  async hasFeature(orgId: string, feature: Feature): Promise<boolean> {
    return (this.peek(orgId) ?? (await this.get(orgId))).features.has(feature);
  }

  /** 403 feature_not_in_plan when the organisation's plan lacks `feature`. */
  async assertFeature(orgId: string, feature: Feature): Promise<void> {
    const entitlement = this.peek(orgId) ?? (await this.get(orgId));
    if (!entitlement.features.has(feature)) {
      throw new ForbiddenError(`The organization's plan (${entitlement.plan?.name ?? "none"}) does not include ${feature}`, "feature_not_in_plan");
    }
  }

  /** The rows changed (a webhook, the admin CLI): every process reloads them on next use. */
  async invalidate(orgId: string): Promise<void> {
    await this.broadcast(orgId);
  }

  /** Drop this process's copy (the control-event handler; tests). */
  forget(orgId: string): void {
    this.generation++;
    this.cache.delete(orgId);
  }

  private isStale(entry: Entry): boolean {
    return Date.now() - entry.loadedAt > this.ttlMs;
  }

  private fresh(orgId: string): Entry | undefined {
    const entry = this.cache.get(orgId);
    return entry && !this.isStale(entry) ? entry : undefined;
  }

  private load(orgId: string): Promise<Entry> {
    const running = this.loading.get(orgId);
    if (running) return running;
    const started = this.generation;
    const promise = this.read(orgId)
      .then((inputs) => {
        const entry = { inputs, loadedAt: Date.now() };
        if (this.generation === started) {
          if (this.cache.size >= 100_000) this.cache.clear();
          this.cache.set(orgId, entry);
        }
        return entry;
      })
      .catch((error: Error) => {
        logger.warn("Could not load an organization's plan", { orgId, error: error.message });
        throw error;
      })
      .finally(() => this.loading.delete(orgId));
    this.loading.set(orgId, promise);
    return promise;
  }

  private async read(orgId: string): Promise<EntitlementInputs> {
    const { Organization, BillingAccount } = this.db.models;
    const [org, account] = await Promise.all([
      Organization.findByPk(orgId, { attributes: ["id", "planOverride", "mauLimitOverride", "roomsLimitOverride"] }),
      BillingAccount.findByPk(orgId, { attributes: ["orgId", "plan", "status", "pastDueSince"] }),
    ]);
    const override = org
      ? {
          plan: isPlanId(org.planOverride) ? org.planOverride : null,
          monthlyActiveUsers: org.mauLimitOverride,
          rooms: org.roomsLimitOverride,
        }
      : NO_OVERRIDE;
    return {
      override,
      subscription: account ? { plan: account.plan, status: account.status, pastDueSince: account.pastDueSince } : null,
    };
  }
}
