/**
 * Billing with Stripe (issue 19): Checkout to buy a self-serve plan, the billing portal to change
 * or cancel it, webhooks to learn what Stripe decided (stripe-webhooks.ts), and metered usage.
 * The organisation's state lives in billing_accounts; what it means is billing-state.ts.
 *
 * Without a Stripe client (no STRIPE_SECRET_KEY) billing is off: the summary still answers (with
 * `enabled: false`), everything else is 404 `billing_disabled`, and Stripe is never called.
 */
import { Op, UniqueConstraintError } from "sequelize";
import type Stripe from "stripe";
import type { Database } from "../../../db/index.ts";
import type { BillingAccount } from "../../../db/models/index.ts";
import type { Clock } from "../clock.ts";
import { AppError, BadRequestError, ConflictError, NotFoundError } from "../../errors.ts";
import { logger } from "../../logger.ts";
import { PLANS, isPlanId, type PlanId, type PlanLimits } from "./plans.ts";
import { LIVE_STATUSES, summarize, type BillingSummary, type OrgUsage, type PlanPrices } from "./billing-state.ts";
import { StripeWebhooks, type WebhookOutcome } from "./stripe-webhooks.ts";

export interface BillingStripeConfig {
  webhookSecret: string | null;
  prices: PlanPrices;
  meteredPrice: string | null;
  meterEventName: string | null;
  returnUrl: string;
}

export interface BillingServiceOptions {
  db: Database;
  clock: Clock;
  /** null: billing is off. */
  stripe: Stripe | null;
  config: BillingStripeConfig;
  /** The organisation's usage this month (the plans area's meter); null until one is wired. */
  usageOf?: (orgId: string) => Promise<OrgUsage | null>;
}

/** Subscription statuses in which usage is still billed. */
const METERED_STATUSES: readonly string[] = ["active", "trialing", "past_due"];

export class BillingService {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly stripe: Stripe | null;
  private readonly config: BillingStripeConfig;
  private readonly webhooks: StripeWebhooks | null;
  /** The seam for usage: the composition root points it at the plans area's usage meter. */
  usageOf: (orgId: string) => Promise<OrgUsage | null>;
  /** Told after any change to an organisation's billing_accounts row (entitlement caches drop it). */
  onAccountChanged: (orgId: string) => Promise<void> | void = () => {};
  /**
   * The plan and limits in effect as the edge enforces them (the plans area's entitlements, which
   * also know operator overrides); without it the summary works them out from the account alone.
   */
  entitlementOf: ((orgId: string) => Promise<{ plan: { id: PlanId; name: string } | null; limits: PlanLimits }>) | null = null;

  constructor(options: BillingServiceOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.stripe = options.stripe;
    this.config = options.config;
    this.usageOf = options.usageOf ?? (async () => null);
    this.webhooks = options.stripe
      ? new StripeWebhooks({ db: options.db, stripe: options.stripe, prices: options.config.prices, clock: options.clock, changed: (orgId) => this.changed(orgId) })
      : null;
  }

  get enabled(): boolean {
    return this.stripe !== null;
  }

  /** What GET /organizations/:org_id/billing answers. */
  async summary(orgId: string): Promise<BillingSummary> {
    const account = await this.db.models.BillingAccount.findByPk(orgId);
    const usage = await this.usageOf(orgId).catch((error: Error) => {
      logger.warn("Could not read an organisation's usage for its billing summary", { orgId, error: error.message });
      return null;
    });
    const summary = summarize(account, this.enabled, usage, this.clock());
    if (!this.entitlementOf) return summary;
    const { plan, limits } = await this.entitlementOf(orgId);
    return { ...summary, plan, limits: { monthly_active_users: limits.monthlyActiveUsers, rooms: limits.rooms } };
  }

  /** A Checkout Session for `plan`; the organisation's Stripe customer is made once and reused. */
  async startCheckout(org: { id: string; name: string }, plan: string): Promise<{ url: string }> {
    const stripe = this.requireStripe();
    const price = isPlanId(plan) && PLANS[plan].selfServe ? (this.config.prices[plan] ?? null) : null;
    if (!price) {
      const buyable = Object.values(PLANS).filter((p) => p.selfServe && this.config.prices[p.id]).map((p) => p.id);
      throw new BadRequestError(`This plan cannot be bought here; choose one of: ${buyable.join(", ") || "none is configured"}`, "plan_not_available");
    }
    const account = await this.accountWithCustomer(org);
    if (account.stripeSubscriptionId && LIVE_STATUSES.has(account.status)) {
      throw new ConflictError("The organization already has a subscription; change or cancel it in the billing portal", "subscription_exists");
    }
    const metadata = { org_id: org.id, plan };
    const session = await this.call("create a Checkout Session", () =>
      stripe.checkout.sessions.create({
        mode: "subscription",
        customer: account.stripeCustomerId!,
        client_reference_id: org.id,
        metadata,
        subscription_data: { metadata },
        line_items: [{ price, quantity: 1 }, ...(this.config.meteredPrice ? [{ price: this.config.meteredPrice }] : [])],
        success_url: this.returnUrl(org.id, "success"),
        cancel_url: this.returnUrl(org.id, "canceled"),
      }),
    );
    if (!session.url) throw new AppError("stripe_error", "Stripe answered without a Checkout URL", 502);
    return { url: session.url };
  }

  /** A billing-portal session for the organisation's customer (plan changes, payment method, invoices). */
  async openPortal(orgId: string): Promise<{ url: string }> {
    const stripe = this.requireStripe();
    const account = await this.db.models.BillingAccount.findByPk(orgId);
    if (!account?.stripeCustomerId) throw new ConflictError("The organization has no billing account yet; buy a plan first", "no_billing_account");
    const session = await this.call("create a billing portal session", () =>
      stripe.billingPortal.sessions.create({ customer: account.stripeCustomerId!, return_url: this.returnUrl(orgId, null) }),
    );
    return { url: session.url };
  }

  /** Verify a webhook's signature over its raw body, then apply it once (stripe-webhooks.ts). */
  async receiveWebhook(payload: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
    const stripe = this.requireStripe();
    const webhooks = this.webhooks;
    if (!webhooks || !this.config.webhookSecret) throw disabled();
    if (!signature) throw new BadRequestError("The Stripe-Signature header is missing", "invalid_signature");
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(payload, signature, this.config.webhookSecret);
    } catch {
      throw new BadRequestError("The Stripe signature does not match this endpoint's secret", "invalid_signature");
    }
    // A Stripe failure while applying (the subscription could not be retrieved) is a 502: nothing
    // was recorded, and Stripe delivers the event again later.
    return this.call("retrieve the event's subscription", () => webhooks.handle(event));
  }

  /**
   * Report an organisation's monthly active users to the Stripe meter (STRIPE_METER_EVENT_NAME).
   * One identifier per organisation and UTC day: a retry, or a second process reporting the same
   * day, is the same meter event to Stripe. False when nothing was sent (no meter, no subscription).
   */
  async reportUsage(orgId: string, usage: { monthlyActiveUsers: number; at: Date }): Promise<boolean> {
    const stripe = this.requireStripe();
    const eventName = this.config.meterEventName;
    if (!eventName) return false;
    const account = await this.db.models.BillingAccount.findByPk(orgId);
    if (!account?.stripeCustomerId || !account.stripeSubscriptionId || !METERED_STATUSES.includes(account.status)) return false;
    await this.call("report usage", () =>
      stripe.billing.meterEvents.create({
        event_name: eventName,
        identifier: `${orgId}:${usage.at.toISOString().slice(0, 10)}`,
        timestamp: Math.floor(usage.at.getTime() / 1000),
        payload: { stripe_customer_id: account.stripeCustomerId!, value: String(Math.max(0, Math.floor(usage.monthlyActiveUsers))) },
      }),
    );
    return true;
  }

  /** The daily job's body: report every subscribed organisation's usage; one failure skips only its organisation. */
  async reportAllUsage(at: Date): Promise<{ reported: number; failed: number }> {
    if (!this.stripe || !this.config.meterEventName) return { reported: 0, failed: 0 };
    const accounts = await this.db.models.BillingAccount.findAll({
      where: { stripeSubscriptionId: { [Op.ne]: null }, status: METERED_STATUSES as string[] },
      attributes: ["orgId"],
    });
    let reported = 0;
    let failed = 0;
    for (const { orgId } of accounts) {
      try {
        const usage = await this.usageOf(orgId);
        if (usage && (await this.reportUsage(orgId, { monthlyActiveUsers: usage.monthlyActiveUsers, at }))) reported += 1;
      } catch (error) {
        failed += 1;
        logger.warn("Could not report an organisation's usage to Stripe", { orgId, error: (error as Error).message });
      }
    }
    return { reported, failed };
  }

  /** The organisation's row, with a Stripe customer (made on first use; the idempotency key makes two racing requests share one). */
  private async accountWithCustomer(org: { id: string; name: string }): Promise<BillingAccount> {
    const { BillingAccount } = this.db.models;
    let account = await BillingAccount.findByPk(org.id);
    if (!account) {
      try {
        account = await BillingAccount.create({ orgId: org.id });
      } catch (error) {
        if (!(error instanceof UniqueConstraintError)) throw error;
        account = await BillingAccount.findByPk(org.id);
      }
      if (!account) throw new NotFoundError("Organization not found", "org_not_found");
    }
    if (account.stripeCustomerId) return account;
    const stripe = this.requireStripe();
    const customer = await this.call("create a customer", () =>
      stripe.customers.create({ name: org.name, metadata: { org_id: org.id } }, { idempotencyKey: `syncforge-customer-${org.id}` }),
    );
    await BillingAccount.update({ stripeCustomerId: customer.id }, { where: { orgId: org.id, stripeCustomerId: null } });
    await this.changed(org.id);
    return (await BillingAccount.findByPk(org.id)) ?? account;
  }

  private async changed(orgId: string): Promise<void> {
    try {
      await this.onAccountChanged(orgId);
    } catch (error) {
      logger.warn("A billing change hook failed", { orgId, error: (error as Error).message });
    }
  }

  /** Where Checkout and the portal send the customer back (STRIPE_RETURN_URL, else PUBLIC_URL). */
  private returnUrl(orgId: string, checkout: "success" | "canceled" | null): string {
    const url = new URL(this.config.returnUrl);
    url.searchParams.set("org_id", orgId);
    if (checkout) url.searchParams.set("checkout", checkout);
    return url.toString();
  }

  private requireStripe(): Stripe {
    if (!this.stripe) throw disabled();
    return this.stripe;
  }

  /** Work that calls Stripe; Stripe's failures become a 502 `stripe_error` (logged with Stripe's message, never the key). */
  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!this.stripe || !(error instanceof this.stripe.errors.StripeError)) throw error;
      logger.warn("A Stripe request failed", { request: what, error: error.message, type: error.type });
      throw new AppError("stripe_error", `Stripe could not ${what}; try again`, 502);
    }
  }
}

function disabled(): NotFoundError {
  return new NotFoundError("Billing is not enabled on this server", "billing_disabled");
}
