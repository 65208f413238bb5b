/**
 * What an organisation's billing_accounts row means, without I/O: which plan is in effect now, what
 * a Stripe subscription says the row should hold, and the summary the billing route answers.
 *
 * A paid plan is in effect while its subscription is `active` or `trialing`, and while it is
 * `past_due` for PAST_DUE_GRACE_DAYS after the first failed payment; any other state (unpaid,
 * canceled, incomplete, paused, no subscription) falls back to Free. A row with a plan and no
 * subscription (`status` "none") is a plan an operator assigned, which applies as it is.
 */
import type Stripe from "stripe";
import { PAST_DUE_GRACE_DAYS, PLANS, isPlanId, type PlanId, type PlanLimits } from "./plans.ts";

const DAY_MS = 24 * 3600 * 1000;

/** Subscription statuses in which the subscription still counts as the organisation's (no second Checkout). */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(["active", "trialing", "past_due", "unpaid", "incomplete", "paused"]);
/** Statuses that end a subscription for good: its plan no longer applies. */
const ENDED_STATUSES: ReadonlySet<string> = new Set(["canceled", "incomplete_expired"]);

/** The fields of a billing_accounts row this module reads and writes. */
export interface AccountState {
  stripeSubscriptionId: string | null;
  plan: string | null;
  status: string;
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  pastDueSince: Date | null;
}

/** The recurring price id of each self-serve plan (config.stripe.prices). */
export type PlanPrices = Readonly<Partial<Record<PlanId, string | null>>>;

/** The plan a price id sells (null: not one of the configured plan prices, e.g. the metered one). */
export function planOfPrice(prices: PlanPrices, priceId: string): PlanId | null {
  for (const [plan, price] of Object.entries(prices)) if (price === priceId && isPlanId(plan)) return plan;
  return null;
}

/** When a past-due subscription's plan stops applying (null: not past due). */
export function graceEndsAt(account: Pick<AccountState, "status" | "pastDueSince">): Date | null {
  if (account.status !== "past_due" || !account.pastDueSince) return null;
  return new Date(account.pastDueSince.getTime() + PAST_DUE_GRACE_DAYS * DAY_MS);
}

/** The plan whose limits apply now: null when billing is off and no operator assigned one. */
export function planInEffect(account: AccountState | null, billingEnabled: boolean, now: Date): PlanId | null {
  const plan = account?.plan && isPlanId(account.plan) ? account.plan : null;
  if (account && plan && account.status === "none") return plan;
  if (!billingEnabled) return null;
  if (!account || !plan) return "free";
  if (account.status === "active" || account.status === "trialing") return plan;
  if (account.status === "past_due") {
    const ends = graceEndsAt(account);
    return ends === null || now < ends ? plan : "free";
  }
  return "free";
}

/**
 * The row after `subscription` (as Stripe returned it) and the event that led to it: plan from the
 * first item whose price is a plan's, periods from that item (Stripe keeps them per item), and
 * past_due_since set on the first failure and cleared once the subscription is in good standing.
 */
export function stateFromSubscription(
  previous: AccountState,
  subscription: Stripe.Subscription,
  prices: PlanPrices,
  event: { type: string; at: Date },
): AccountState {
  const items = subscription.items.data;
  const planItem = items.find((item) => planOfPrice(prices, item.price.id) !== null);
  const ended = ENDED_STATUSES.has(subscription.status);
  const status = subscription.status;
  let pastDueSince = previous.stripeSubscriptionId === subscription.id ? previous.pastDueSince : null;
  if (ended || event.type === "invoice.paid") pastDueSince = null;
  else if (event.type === "invoice.payment_failed") pastDueSince ??= event.at;
  else if (status === "active" || status === "trialing") pastDueSince = null;
  else if (status === "past_due" || status === "unpaid") pastDueSince ??= event.at;
  return {
    stripeSubscriptionId: subscription.id,
    plan: ended || !planItem ? null : planOfPrice(prices, planItem.price.id),
    status,
    currentPeriodStart: planItem && !ended ? new Date(planItem.current_period_start * 1000) : null,
    currentPeriodEnd: planItem && !ended ? new Date(planItem.current_period_end * 1000) : null,
    cancelAtPeriodEnd: !ended && subscription.cancel_at_period_end,
    pastDueSince,
  };
}

/** Usage the plans area measures (the lead wires it in; null until then). */
export interface OrgUsage {
  monthlyActiveUsers: number;
  rooms: number;
}

export interface BillingSummary {
  enabled: boolean;
  plan: { id: PlanId; name: string } | null;
  status: string;
  current_period: { start: string; end: string } | null;
  cancel_at_period_end: boolean;
  past_due_since: string | null;
  grace_ends_at: string | null;
  limits: { monthly_active_users: number | null; rooms: number | null };
  usage: { monthly_active_users: number; rooms: number } | null;
}

const UNLIMITED: PlanLimits = { monthlyActiveUsers: null, rooms: null };

/** The billing route's answer: snake_case like the organisation fields, limits of the plan in effect. */
export function summarize(account: AccountState | null, billingEnabled: boolean, usage: OrgUsage | null, now: Date): BillingSummary {
  const plan = planInEffect(account, billingEnabled, now);
  const limits = plan ? PLANS[plan].limits : UNLIMITED;
  const period = account?.currentPeriodStart && account.currentPeriodEnd ? { start: account.currentPeriodStart, end: account.currentPeriodEnd } : null;
  return {
    enabled: billingEnabled,
    plan: plan ? { id: plan, name: PLANS[plan].name } : null,
    status: account?.status ?? "none",
    current_period: period ? { start: period.start.toISOString(), end: period.end.toISOString() } : null,
    cancel_at_period_end: account?.cancelAtPeriodEnd ?? false,
    past_due_since: account?.pastDueSince?.toISOString() ?? null,
    grace_ends_at: account ? (graceEndsAt(account)?.toISOString() ?? null) : null,
    limits: { monthly_active_users: limits.monthlyActiveUsers, rooms: limits.rooms },
    usage: usage ? { monthly_active_users: usage.monthlyActiveUsers, rooms: usage.rooms } : null,
  };
}
