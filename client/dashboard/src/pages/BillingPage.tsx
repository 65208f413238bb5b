/**
 * Billing (when the server runs it): the plan, usage against the plan's limits, upgrading through
 * Stripe Checkout, managing the subscription in Stripe's billing portal, and a past-due banner.
 * Checkout and portal answer a Stripe URL; the browser goes there.
 */
import { useState } from "react";
import { post } from "../api.ts";
import { can } from "../policy.ts";
import { useLocation } from "../router.tsx";
import { ErrorNotice, formatDate, LoadState, Notice, PageTitle, SelectField, useAction } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";
import { shareOf } from "./usage.ts";

export interface Billing {
  enabled: boolean;
  /** null: no plan in effect (billing on, nothing bought). */
  plan: { id: string; name: string } | null;
  status: string;
  current_period: { start: string; end: string } | null;
  cancel_at_period_end: boolean;
  past_due_since: string | null;
  grace_ends_at: string | null;
  limits: Record<string, number | null>;
  /** null when the usage could not be read just now. */
  usage: Record<string, number> | null;
}

const PLANS = [
  { id: "starter", name: "Starter" },
  { id: "pro", name: "Pro" },
  { id: "business", name: "Business" },
];

const LABELS: Record<string, string> = { monthly_active_users: "Monthly active users", rooms: "Rooms" };

export function BillingPage() {
  const { org, billing } = useOrg();
  // The plan picked in the menu; null until the user picks one (then the menu's first choice).
  const [plan, setPlan] = useState<string | null>(null);
  const manage = can(org.role, "billing:manage");
  // Stripe sends the browser back with ?checkout=success|canceled (App.tsx routes it here).
  const checkoutResult = useLocation().search.get("checkout");
  const checkout = useAction(async (chosen: string) => {
    const { url } = await post<{ url: string }>(`/organizations/${org.id}/billing/checkout`, { plan: chosen });
    location.assign(url);
  });
  const portal = useAction(async () => {
    const { url } = await post<{ url: string }>(`/organizations/${org.id}/billing/portal`);
    location.assign(url);
  });
  return (
    <>
      <PageTitle>Billing</PageTitle>
      {checkoutResult === "success" && <Notice kind="success">Thank you: the subscription starts as soon as Stripe confirms the payment.</Notice>}
      {checkoutResult === "canceled" && <Notice>Checkout was cancelled; nothing changed.</Notice>}
      <LoadState loaded={billing}>
        {(value) => {
          const choices = PLANS.filter((p) => p.id !== value?.plan?.id);
          const chosen = choices.some((p) => p.id === plan) ? plan! : choices[0]!.id;
          return value === null ? (
            <Notice>Billing is not enabled on this server.</Notice>
          ) : (
            <>
              {value.past_due_since && (
                <Notice kind="error">
                  The last payment failed (since {formatDate(value.past_due_since)}).
                  {value.grace_ends_at && ` Paid features stop on ${formatDate(value.grace_ends_at)} unless the payment method is updated.`}
                </Notice>
              )}
              <div className="grid">
                <section className="card">
                  <h2>Plan</h2>
                  <p className="stat">{value.plan?.name ?? "No plan"}</p>
                  <p className="muted">
                    Status: {value.status}
                    {value.current_period && ` · renews ${formatDate(value.current_period.end)}`}
                    {value.cancel_at_period_end && " · cancels at the end of the period"}
                  </p>
                  {manage && (
                    <div className="row">
                      <SelectField label="Change plan to" value={chosen} onChange={(e) => setPlan(e.target.value)} options={choices.map((p) => [p.id, p.name])} />
                      <button type="button" onClick={() => checkout.run(chosen)} disabled={checkout.busy}>
                        Go to checkout
                      </button>
                      <button type="button" className="secondary" onClick={() => portal.run()} disabled={portal.busy}>
                        Manage billing
                      </button>
                    </div>
                  )}
                  <ErrorNotice error={checkout.error ?? portal.error} />
                </section>
                <section className="card" aria-labelledby="billing-usage">
                  <h2 id="billing-usage">Usage this period</h2>
                  {Object.entries(value.limits).map(([key, limit]) => (
                    <Meter key={key} label={LABELS[key] ?? key.replaceAll("_", " ")} used={value.usage?.[key] ?? null} limit={limit} />
                  ))}
                </section>
              </div>
            </>
          );
        }}
      </LoadState>
    </>
  );
}

/** Used against a limit; `used` null: not known just now. */
export function Meter({ label, used, limit }: { label: string; used: number | null; limit: number | null | undefined }) {
  const share = shareOf(used ?? 0, limit);
  return (
    <div className="meter">
      <div className="row spread">
        <span>{label}</span>
        <span>
          {used === null ? "—" : used.toLocaleString()} / {limit ? limit.toLocaleString() : "no limit"}
        </span>
      </div>
      {limit && used !== null ? <progress max={1} value={share} aria-label={`${label}: ${Math.round(share * 100)}% of the limit`} className={share >= 0.8 ? "near" : undefined} /> : null}
    </div>
  );
}
