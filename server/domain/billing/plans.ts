/**
 * The plans, in one table (issue 19; the seed's tiers). Limits are per organisation; `null` means
 * unlimited. Features gate whole kinds of writes: a plan without `comments` refuses comment and
 * reaction writes, one without `notifications` sends none.
 *
 * Enterprise has no fixed limits: an operator sets them per organisation (`npm run admin`).
 * When billing is off (no STRIPE_SECRET_KEY) no plan applies at all unless an operator set one.
 */
export type PlanId = "free" | "starter" | "pro" | "business" | "enterprise";

export type Feature = "presence" | "comments" | "notifications" | "webhooks" | "analytics" | "sso";

export interface PlanLimits {
  /** Distinct end users connected in a calendar month (UTC). */
  monthlyActiveUsers: number | null;
  rooms: number | null;
}

export interface Plan {
  id: PlanId;
  name: string;
  /** US dollars per month; null: priced by agreement. */
  monthlyPriceUsd: number | null;
  limits: PlanLimits;
  features: readonly Feature[];
  /** Whether Checkout can sell it (Enterprise is set by an operator). */
  selfServe: boolean;
}

export const PLANS: Readonly<Record<PlanId, Plan>> = {
  free: {
    id: "free",
    name: "Free",
    monthlyPriceUsd: 0,
    limits: { monthlyActiveUsers: 50, rooms: 3 },
    features: ["presence"],
    selfServe: false,
  },
  starter: {
    id: "starter",
    name: "Starter",
    monthlyPriceUsd: 49,
    limits: { monthlyActiveUsers: 1_000, rooms: 10 },
    features: ["presence", "comments", "notifications"],
    selfServe: true,
  },
  pro: {
    id: "pro",
    name: "Pro",
    monthlyPriceUsd: 199,
    limits: { monthlyActiveUsers: 10_000, rooms: 100 },
    features: ["presence", "comments", "notifications", "webhooks"],
    selfServe: true,
  },
  business: {
    id: "business",
    name: "Business",
    monthlyPriceUsd: 499,
    limits: { monthlyActiveUsers: 50_000, rooms: null },
    // SSO is listed with the plan but not built yet (docs/billing.md says so).
    features: ["presence", "comments", "notifications", "webhooks", "analytics", "sso"],
    selfServe: true,
  },
  enterprise: {
    id: "enterprise",
    name: "Enterprise",
    monthlyPriceUsd: null,
    limits: { monthlyActiveUsers: null, rooms: null },
    features: ["presence", "comments", "notifications", "webhooks", "analytics", "sso"],
    selfServe: false,
  },
};

export const PLAN_IDS = Object.keys(PLANS) as PlanId[];

export function isPlanId(value: unknown): value is PlanId {
  return typeof value === "string" && Object.hasOwn(PLANS, value);
}

/** Days a past-due subscription keeps its plan before the organisation falls back to Free. */
export const PAST_DUE_GRACE_DAYS = 7;
