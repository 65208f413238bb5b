/**
 * The organisation at a glance: MAU this month against the limit, connections and active rooms
 * now, rooms against the limit, the plan; and what needs attention (a failed payment, a limit
 * nearly reached, an API key whose previous secret is in its rotation grace period).
 */
import { get, type ApiKey } from "../api.ts";
import { can } from "../policy.ts";
import { Link } from "../router.tsx";
import { ErrorNotice, formatDate, Notice, PageTitle, Spinner, useLoad } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";
import { loadUsage, shareOf } from "./usage.ts";
import { CurrentUsage } from "./UsagePage.tsx";

const NEAR_LIMIT = 0.8;

export function OverviewPage() {
  const { org, billing } = useOrg();
  const usage = useLoad(() => loadUsage(org.id, "hour"), [org.id]);
  const keys = useLoad(async () => (can(org.role, "api_keys:read") ? (await get<{ data: ApiKey[] }>(`/organizations/${org.id}/api-keys`)).data : []), [org.id, org.role]);
  const u = usage.data;
  const inGrace = (keys.data ?? []).filter((k) => !k.revokedAt && k.previousExpiresAt && Date.parse(k.previousExpiresAt) > Date.now());
  const attention: string[] = [];
  if (billing.data?.past_due_since) attention.push(`A payment failed on ${formatDate(billing.data.past_due_since)}: update the payment method on the Billing page.`);
  if (u && shareOf(u.current.monthly_active_users, u.limits.monthly_active_users) >= NEAR_LIMIT) attention.push("Monthly active users are near the plan's limit.");
  if (u && shareOf(u.current.rooms, u.limits.rooms) >= NEAR_LIMIT) attention.push("Rooms are near the plan's limit.");
  for (const key of inGrace) attention.push(`API key “${key.name}” was rotated: its previous secret stops working on ${formatDate(key.previousExpiresAt)}.`);
  return (
    <>
      <PageTitle>{org.name}</PageTitle>
      <section aria-labelledby="attention">
        <h2 id="attention">Needs attention</h2>
        {(usage.data === undefined && !usage.error) || (keys.data === undefined && !keys.error) ? (
          <Spinner />
        ) : attention.length === 0 ? (
          <p className="muted">Nothing needs your attention.</p>
        ) : (
          attention.map((text) => (
            <Notice key={text} kind="warning">
              {text}
            </Notice>
          ))
        )}
      </section>
      <ErrorNotice error={usage.error ?? keys.error} retry={usage.error ? usage.reload : keys.reload} />
      <div className="grid cards-4">
        <section className="card">
          <h2>Plan</h2>
          <p className="stat">{u?.plan.name ?? billing.data?.plan?.name ?? org.plan_type}</p>
        </section>
        {u ? (
          <CurrentUsage usage={u} />
        ) : (
          usage.data === null && (
            <section className="card">
              <h2>Usage</h2>
              <p className="muted">Usage figures are not available on this server yet.</p>
            </section>
          )
        )}
      </div>
      <p>
        <Link to={`/organizations/${org.id}/rooms`}>See rooms</Link> · <Link to={`/organizations/${org.id}/usage`}>See usage</Link>
      </p>
    </>
  );
}
