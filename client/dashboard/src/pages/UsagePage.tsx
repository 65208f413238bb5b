/**
 * Usage analytics: this month's figures against the plan's limits, then active users, peak
 * concurrent connections, active rooms and messages over the last hour, day, 7 or 30 days, drawn
 * with recharts from GET …/usage.
 */
import { useId, useState, type ReactNode } from "react";
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { LoadState, PageTitle, useLoad } from "../ui.tsx";
import { Meter } from "./BillingPage.tsx";
import { useOrg } from "./OrgLayout.tsx";
import { loadUsage, RANGES, type RangeId, type Usage, type UsagePoint } from "./usage.ts";

const CHARTS: Array<{ key: keyof UsagePoint; title: string; color: string }> = [
  { key: "active_users", title: "Active users", color: "#2563eb" },
  { key: "peak_connections", title: "Peak concurrent connections", color: "#9333ea" },
  { key: "active_rooms", title: "Active rooms", color: "#0d9488" },
  { key: "messages", title: "Messages", color: "#c2410c" },
];

export function UsagePage() {
  const { org } = useOrg();
  const [range, setRange] = useState<RangeId>("day");
  const usage = useLoad(() => loadUsage(org.id, range), [org.id, range]);
  const hourly = RANGES.find((r) => r.id === range)!.granularity === "hour";
  const tick = (at: string) => (hourly ? new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : new Date(at).toLocaleDateString());
  return (
    <>
      <PageTitle>Usage</PageTitle>
      <div className="row" role="group" aria-label="Time range">
        {RANGES.map((r) => (
          <button key={r.id} type="button" className={r.id === range ? "" : "secondary"} aria-pressed={r.id === range} onClick={() => setRange(r.id)}>
            {r.label}
          </button>
        ))}
      </div>
      <LoadState loaded={usage}>
        {(value) =>
          value === null ? (
            <p className="notice info">Usage analytics are not available on this server yet.</p>
          ) : (
            <>
              <div className="grid cards-4">
                <CurrentUsage usage={value} />
              </div>
              <div className="grid">
                {CHARTS.map((chart) => (
                  <figure key={chart.key} className="card chart">
                    <figcaption>
                      <h2>{chart.title}</h2>
                    </figcaption>
                    {value.series.length === 0 ? (
                      <p className="muted">No data in this period.</p>
                    ) : value.series.every((point) => point[chart.key] === null) ? (
                      <p className="muted">Counted per day: choose the last 7 or 30 days.</p>
                    ) : (
                      <div className="chart-box" role="img" aria-label={`${chart.title}: ${value.series.length} points, latest ${String(value.series.at(-1)?.[chart.key] ?? 0)}`}>
                        <ResponsiveContainer width="100%" height={220}>
                          <LineChart data={value.series} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
                            <XAxis dataKey="at" tickFormatter={tick} minTickGap={24} />
                            <YAxis allowDecimals={false} width={48} />
                            <Tooltip labelFormatter={(at) => new Date(String(at)).toLocaleString()} />
                            <Line type="monotone" dataKey={chart.key} name={chart.title} stroke={chart.color} strokeWidth={2} dot={false} isAnimationActive={false} />
                          </LineChart>
                        </ResponsiveContainer>
                      </div>
                    )}
                  </figure>
                ))}
              </div>
            </>
          )
        }
      </LoadState>
    </>
  );
}

/** This month's users and rooms against the plan's limits, and the connections and active rooms now. */
export function CurrentUsage({ usage }: { usage: Usage }) {
  const id = useId();
  const card = (key: string, title: string, body: ReactNode) => (
    <section className="card" aria-labelledby={`${id}-${key}`}>
      <h2 id={`${id}-${key}`}>{title}</h2>
      {body}
    </section>
  );
  return (
    <>
      {card("mau", "Monthly active users", <Meter label="This month" used={usage.current.monthly_active_users} limit={usage.limits.monthly_active_users} />)}
      {card("connections", "Connections now", <p className="stat">{usage.current.connections.toLocaleString()}</p>)}
      {card("active-rooms", "Active rooms now", <p className="stat">{(usage.series.at(-1)?.active_rooms ?? 0).toLocaleString()}</p>)}
      {card("rooms", "Rooms", <Meter label="Rooms" used={usage.current.rooms} limit={usage.limits.rooms} />)}
    </>
  );
}
