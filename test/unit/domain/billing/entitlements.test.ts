/**
 * The effective-plan rules (server/domain/billing/entitlements.ts), pure: operator override first,
 * billing off means no limits, subscriptions by status, the 7-day past-due grace, limit overrides.
 */
import { expect } from "chai";
import { resolveEntitlement, type EntitlementInputs } from "../../../../server/domain/billing/entitlements.ts";
import { UNLIMITED } from "../../../../server/domain/billing/plan-overrides.ts";

const DAY = 24 * 3600 * 1000;
const NOW = new Date("2026-12-04T12:00:00Z");
const none = { plan: null, monthlyActiveUsers: null, rooms: null };

function inputs(subscription: EntitlementInputs["subscription"], override: EntitlementInputs["override"] = none): EntitlementInputs {
  return { override, subscription };
}

describe("resolveEntitlement", () => {
  it("billing off: no plan, no limits, every feature", () => {
    const e = resolveEntitlement(inputs({ plan: "starter", status: "active", pastDueSince: null }), false, NOW);
    expect(e.plan).to.equal(null);
    expect(e.source).to.equal("unmetered");
    expect(e.limits).to.deep.equal({ monthlyActiveUsers: null, rooms: null });
    expect([...e.features]).to.include.members(["comments", "notifications", "webhooks"]);
  });

  it("billing on: no subscription, or one not active, is Free", () => {
    for (const subscription of [null, { plan: "pro", status: "canceled", pastDueSince: null }, { plan: "pro", status: "unpaid", pastDueSince: null }, { plan: "pro", status: "incomplete", pastDueSince: null }, { plan: "nonsense", status: "active", pastDueSince: null }]) {
      const e = resolveEntitlement(inputs(subscription), true, NOW);
      expect(e.plan?.id, JSON.stringify(subscription)).to.equal("free");
      expect(e.limits).to.deep.equal({ monthlyActiveUsers: 50, rooms: 3 });
      expect(e.features.has("comments")).to.equal(false);
    }
  });

  it("billing on: active and trialing give the subscription's plan", () => {
    expect(resolveEntitlement(inputs({ plan: "pro", status: "active", pastDueSince: null }), true, NOW).plan?.id).to.equal("pro");
    expect(resolveEntitlement(inputs({ plan: "starter", status: "trialing", pastDueSince: null }), true, NOW).plan?.id).to.equal("starter");
  });

  it("past due keeps the plan for 7 days after past_due_since, then Free", () => {
    const since = new Date(NOW.getTime() - 6 * DAY);
    const inside = resolveEntitlement(inputs({ plan: "business", status: "past_due", pastDueSince: since }), true, NOW);
    expect(inside).to.deep.include({ source: "past_due_grace" });
    expect(inside.plan?.id).to.equal("business");
    const after = resolveEntitlement(inputs({ plan: "business", status: "past_due", pastDueSince: since }), true, new Date(since.getTime() + 7 * DAY));
    expect(after.plan?.id).to.equal("free");
  });

  it("an operator's plan wins over billing and applies with billing off; limit overrides replace the plan's", () => {
    const override = { plan: "enterprise" as const, monthlyActiveUsers: 250_000, rooms: 40 };
    for (const billing of [true, false]) {
      const e = resolveEntitlement(inputs({ plan: "starter", status: "active", pastDueSince: null }, override), billing, NOW);
      expect(e.plan?.id).to.equal("enterprise");
      expect(e.source).to.equal("override");
      expect(e.limits).to.deep.equal({ monthlyActiveUsers: 250_000, rooms: 40 });
    }
    const unlimited = resolveEntitlement(inputs(null, { plan: "free", monthlyActiveUsers: UNLIMITED, rooms: null }), true, NOW);
    expect(unlimited.limits).to.deep.equal({ monthlyActiveUsers: null, rooms: 3 });
  });
});
