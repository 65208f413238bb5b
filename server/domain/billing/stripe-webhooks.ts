/**
 * Stripe webhook events → billing_accounts (issue 19). Stripe delivers at least once, in any order,
 * sometimes twice at the same moment; this module makes each event count once and never lets an
 * older state overwrite a newer one.
 *
 *   - Once: the event id is inserted into stripe_events in the same transaction as the change it
 *     makes. A replay fails that insert (the primary key) and changes nothing; a concurrent second
 *     delivery of the same event waits on the first's uncommitted key (PostgreSQL) or its turn
 *     (SQLite, below), then fails the same way. A failed apply rolls back its row too, so Stripe's
 *     retry applies it.
 *   - In order: billing_accounts.state_at holds the `created` time of the newest event applied.
 *     An event older than that is recorded and ignored. Otherwise the subscription is not taken
 *     from the event (which may be stale: Stripe's own advice) but retrieved from Stripe, so what
 *     is stored is at least as new as every event applied so far.
 *   - No lost update: handling one organisation's events takes turns. On PostgreSQL the account
 *     row is locked (FOR UPDATE) from before the retrieval until the commit, across processes; the
 *     second of two concurrent events then retrieves after the first committed. SQLite is one
 *     process: its events take turns per organisation in memory, and the retrieval happens before
 *     the short write transaction, since a SQLite transaction holds the whole file's write lock.
 */
import { Transaction, UniqueConstraintError } from "sequelize";
import type Stripe from "stripe";
import type { Database } from "../../../db/index.ts";
import type { BillingAccount } from "../../../db/models/index.ts";
import type { Clock } from "../clock.ts";
import { logger } from "../../logger.ts";
import { LIVE_STATUSES, stateFromSubscription, type AccountState, type PlanPrices } from "./billing-state.ts";

/** The event types SyncForge subscribes to (docs/billing.md lists them for the dashboard). */
export const HANDLED_EVENTS = [
  "checkout.session.completed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "invoice.paid",
  "invoice.payment_failed",
] as const;

export type WebhookOutcome = "applied" | "ignored" | "duplicate";

/** Whom an event is about: read from the event alone, before any lock. */
interface Target {
  orgId: string;
  subscriptionId: string;
}

type Decision = { outcome: "ignored"; reason: string } | { outcome: "applied"; state: AccountState };

export interface StripeWebhooksOptions {
  db: Database;
  stripe: Stripe;
  prices: PlanPrices;
  clock: Clock;
  /** Called after a commit that changed an organisation's billing_accounts row. */
  changed: (orgId: string) => Promise<void>;
}

export class StripeWebhooks {
  private readonly options: StripeWebhooksOptions;
  /** SQLite only: each organisation's events take turns (see the file comment). */
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(options: StripeWebhooksOptions) {
    this.options = options;
  }

  /** Apply a verified event once; `duplicate` when it was handled before. */
  async handle(event: Stripe.Event): Promise<WebhookOutcome> {
    const receivedAt = this.options.clock();
    const target = await this.targetOf(event);
    if (!target) {
      const outcome = await this.once(event, () =>
        this.options.db.sequelize.transaction(async (transaction) => {
          await this.record(event, null, "ignored", receivedAt, transaction);
          return "ignored" as const;
        }),
      );
      logger.debug("Stripe event not about a known subscription", { eventId: event.id, type: event.type, outcome });
      return outcome;
    }
    const outcome = this.options.db.dialect === "postgres" ? await this.handleLocked(event, target, receivedAt) : await this.inTurn(target.orgId, () => this.handleInTurn(event, target, receivedAt));
    if (outcome === "applied") {
      await this.options.changed(target.orgId).catch((error: Error) => logger.warn("A billing change hook failed", { orgId: target.orgId, error: error.message }));
    }
    logger.info("Stripe event handled", { eventId: event.id, type: event.type, orgId: target.orgId, outcome });
    return outcome;
  }

  /** PostgreSQL: record, lock the account row, retrieve, write, in one transaction. */
  private async handleLocked(event: Stripe.Event, target: Target, receivedAt: Date): Promise<WebhookOutcome> {
    const { BillingAccount } = this.options.db.models;
    return this.once(event, () =>
      this.options.db.sequelize.transaction(async (transaction) => {
        // First, so a second delivery of this event waits here until this transaction ends.
        await this.record(event, target.orgId, "applied", receivedAt, transaction);
        const account = await BillingAccount.findByPk(target.orgId, { lock: Transaction.LOCK.UPDATE, transaction });
        const decision = await this.decide(event, target, account);
        return this.write(event, account, decision, transaction);
      }),
    );
  }

  /** SQLite: in the organisation's turn, retrieve first, then record and write in one short transaction. */
  private async handleInTurn(event: Stripe.Event, target: Target, receivedAt: Date): Promise<WebhookOutcome> {
    const { BillingAccount, StripeEvent } = this.options.db.models;
    if (await StripeEvent.findByPk(event.id)) return "duplicate";
    const account = await BillingAccount.findByPk(target.orgId);
    const decision = await this.decide(event, target, account);
    return this.once(event, () =>
      this.options.db.sequelize.transaction(async (transaction) => {
        await this.record(event, target.orgId, "applied", receivedAt, transaction);
        return this.write(event, account, decision, transaction);
      }),
    );
  }

  private async inTurn<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(key, settled);
    void settled.then(() => {
      if (this.turns.get(key) === settled) this.turns.delete(key);
    });
    return run;
  }

  /** Whether (and with what state) the event changes the account; may retrieve the subscription. */
  private async decide(event: Stripe.Event, target: Target, account: BillingAccount | null): Promise<Decision> {
    if (!account) return { outcome: "ignored", reason: "no billing account" };
    const at = new Date(event.created * 1000);
    if (account.stateAt && at < account.stateAt) return { outcome: "ignored", reason: "older than the state held" };
    const current = account.stripeSubscriptionId;
    const other = current !== null && current !== target.subscriptionId && LIVE_STATUSES.has(account.status);
    if (other && event.type !== "checkout.session.completed") return { outcome: "ignored", reason: "another subscription is the organisation's" };
    if (other) {
      // Two Checkout pages opened before either was paid: both subscriptions bill. The newest is
      // tracked; the other must be cancelled in the Stripe dashboard.
      logger.warn("An organisation paid a second subscription; the earlier one is no longer tracked", { orgId: target.orgId, previous: current, subscriptionId: target.subscriptionId });
    }
    const subscription = await this.options.stripe.subscriptions.retrieve(target.subscriptionId);
    return { outcome: "applied", state: stateFromSubscription(account, subscription, this.options.prices, { type: event.type, at }) };
  }

  private async write(event: Stripe.Event, account: BillingAccount | null, decision: Decision, transaction: Transaction): Promise<WebhookOutcome> {
    if (decision.outcome === "ignored" || !account) {
      await this.options.db.models.StripeEvent.update({ outcome: "ignored" }, { where: { id: event.id }, transaction });
      logger.info("Stripe event ignored", { eventId: event.id, type: event.type, reason: decision.outcome === "ignored" ? decision.reason : "no billing account" });
      return "ignored";
    }
    const at = new Date(event.created * 1000);
    const stateAt = account.stateAt && account.stateAt > at ? account.stateAt : at;
    await account.update({ ...decision.state, stateAt }, { transaction });
    return "applied";
  }

  /** Insert the event's row; a replay fails on the primary key (see once). */
  private async record(event: Stripe.Event, orgId: string | null, outcome: "applied" | "ignored", receivedAt: Date, transaction: Transaction): Promise<void> {
    await this.options.db.models.StripeEvent.create(
      { id: event.id, type: event.type, orgId, outcome, eventCreatedAt: new Date(event.created * 1000), receivedAt, processedAt: this.options.clock() },
      { transaction },
    );
  }

  /** Run a transaction that records `event`; `duplicate` when the event's row was already there. */
  private async once(event: Stripe.Event, run: () => Promise<WebhookOutcome>): Promise<WebhookOutcome> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof UniqueConstraintError && (await this.options.db.models.StripeEvent.findByPk(event.id))) return "duplicate";
      throw error;
    }
  }

  /** The organisation and subscription an event is about, or null for one SyncForge leaves alone. */
  private async targetOf(event: Stripe.Event): Promise<Target | null> {
    switch (event.type) {
      case "checkout.session.completed": {
        const session = event.data.object;
        const orgId = session.client_reference_id ?? session.metadata?.org_id ?? null;
        const subscriptionId = idOf(session.subscription);
        if (session.mode !== "subscription" || !orgId || !subscriptionId) return null;
        // The account was made when the checkout started: its customer must be this session's.
        const account = await this.options.db.models.BillingAccount.findByPk(orgId);
        return account && account.stripeCustomerId === idOf(session.customer) ? { orgId, subscriptionId } : null;
      }
      case "customer.subscription.created":
      case "customer.subscription.updated":
      case "customer.subscription.deleted": {
        const subscription = event.data.object;
        return this.byCustomer(idOf(subscription.customer), subscription.id);
      }
      case "invoice.paid":
      case "invoice.payment_failed": {
        const invoice = event.data.object;
        // Endpoints on API versions before 2025-03-31 carry `invoice.subscription` instead of `parent`.
        const legacy = (invoice as { subscription?: string | { id: string } | null }).subscription ?? null;
        return this.byCustomer(idOf(invoice.customer), idOf(invoice.parent?.subscription_details?.subscription ?? legacy));
      }
      default:
        return null;
    }
  }

  private async byCustomer(customerId: string | null, subscriptionId: string | null): Promise<Target | null> {
    if (!customerId || !subscriptionId) return null;
    const account = await this.options.db.models.BillingAccount.findOne({ where: { stripeCustomerId: customerId } });
    return account ? { orgId: account.orgId, subscriptionId } : null;
  }
}

/** An expandable Stripe field's id (a string, or the expanded object's `id`). */
function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}
