import { expect } from "chai";
import type Stripe from "stripe";
import { graceEndsAt, planInEffect, stateFromSubscription, summarize, type AccountState } from "../../../../server/domain/billing/billing-state.ts";

const DAY = 24 * 3600 * 1000;
const PRICES = { starter: "price_s", pro: "price_p", business: "price_b" };
const T0 = new Date("2026-12-01T00:00:00Z");

function account(overrides: Partial<AccountState> = {}): AccountState {
  return { stripeSubscriptionId: "sub_1", plan: "pro", status: "active", currentPeriodStart: null, currentPeriodEnd: null, cancelAtPeriodEnd: false, pastDueSince: null, ...overrides };
}

function subscription(status: string, prices: string[], extra: Partial<Stripe.Subscription> = {}): Stripe.Subscription {
  const items = prices.map((price, i) => ({ id: `si_${i}`, price: { id: price }, current_period_start: 1_800_000_000 + i, current_period_end: 1_802_592_000 + i }));
  return { id: "sub_1", status, cancel_at_period_end: false, items: { data: items }, ...extra } as unknown as Stripe.Subscription;
}

describe("billing state", () => {
  it("keeps a paid plan while active or trialing, and while past due only for the grace period", () => {
    expect(planInEffect(account(), true, T0)).to.equal("pro");
    expect(planInEffect(account({ status: "trialing" }), true, T0)).to.equal("pro");
    const pastDue = account({ status: "past_due", pastDueSince: T0 });
    expect(graceEndsAt(pastDue)).to.deep.equal(new Date(T0.getTime() + 7 * DAY));
    expect(planInEffect(pastDue, true, new Date(T0.getTime() + 7 * DAY - 1))).to.equal("pro");
    expect(planInEffect(pastDue, true, new Date(T0.getTime() + 7 * DAY))).to.equal("free");
    for (const status of ["unpaid", "canceled", "incomplete", "incomplete_expired", "paused"]) {
      expect(planInEffect(account({ status }), true, T0), status).to.equal("free");
    }
    expect(planInEffect(null, true, T0)).to.equal("free");
  });

  it("applies no plan with billing off, except one an operator assigned", () => {
    expect(planInEffect(null, false, T0)).to.equal(null);
    expect(planInEffect(account(), false, T0)).to.equal(null);
    expect(planInEffect(account({ stripeSubscriptionId: null, status: "none", plan: "enterprise" }), false, T0)).to.equal("enterprise");
    expect(summarize(null, false, null, T0).limits).to.deep.equal({ monthly_active_users: null, rooms: null });
  });

  it("reads the plan from the item whose price is a plan's, with that item's period", () => {
    const state = stateFromSubscription(account({ plan: "starter" }), subscription("active", ["price_metered", "price_b"]), PRICES, { type: "customer.subscription.updated", at: T0 });
    expect(state.plan).to.equal("business");
    expect(state.currentPeriodStart).to.deep.equal(new Date((1_800_000_000 + 1) * 1000));
    expect(stateFromSubscription(account(), subscription("active", ["price_unknown"]), PRICES, { type: "x", at: T0 }).plan).to.equal(null);
  });

  it("sets past_due_since on the first failure only and clears it when paid or in good standing", () => {
    const failed = stateFromSubscription(account(), subscription("past_due", ["price_p"]), PRICES, { type: "invoice.payment_failed", at: T0 });
    expect(failed.pastDueSince).to.deep.equal(T0);
    const later = new Date(T0.getTime() + DAY);
    expect(stateFromSubscription(failed, subscription("past_due", ["price_p"]), PRICES, { type: "customer.subscription.updated", at: later }).pastDueSince).to.deep.equal(T0);
    expect(stateFromSubscription(failed, subscription("past_due", ["price_p"]), PRICES, { type: "invoice.paid", at: later }).pastDueSince).to.equal(null);
    expect(stateFromSubscription(failed, subscription("active", ["price_p"]), PRICES, { type: "customer.subscription.updated", at: later }).pastDueSince).to.equal(null);
    // Another subscription starts with a clean slate.
    expect(stateFromSubscription({ ...failed, stripeSubscriptionId: "sub_old" }, subscription("active", ["price_p"]), PRICES, { type: "x", at: later }).pastDueSince).to.equal(null);
  });

  it("drops the plan and period of an ended subscription", () => {
    const ended = stateFromSubscription(account(), subscription("canceled", ["price_p"], { cancel_at_period_end: true }), PRICES, { type: "customer.subscription.deleted", at: T0 });
    expect(ended).to.include({ plan: null, status: "canceled", currentPeriodStart: null, cancelAtPeriodEnd: false, pastDueSince: null });
  });
});
