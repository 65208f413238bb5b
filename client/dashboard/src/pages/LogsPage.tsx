/**
 * Live logs: what happens in the organisation's rooms (connects, disconnects, refusals with their
 * codes, throttling, comment writes, webhook deliveries), filtered by room, user and kind. The
 * recent history comes from GET …/logs, then new entries stream in over Server-Sent Events
 * (GET …/logs/stream, `event: log`) with the same filters, resuming after the newest entry shown
 * (`last_event_id`; EventSource sends Last-Event-ID itself when it reconnects).
 */
import { useEffect, useState } from "react";
import { get } from "../api.ts";
import { ErrorNotice, Field, Form, formatDate, PageTitle, SelectField, Spinner } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";

export interface LogEntry {
  id: string;
  at: string;
  org_id: string;
  room_id: string | null;
  user_id: string | null;
  kind: string;
  code?: string | number | null;
  detail?: string | null;
}

const KINDS = ["connect", "disconnect", "refused", "throttled", "comment", "webhook"] as const;
/** Entries kept on the page; older ones fall off. */
const MAX_ENTRIES = 500;
const HISTORY = 100;

interface Filters {
  room_id: string;
  user_id: string;
  kind: string;
}

export function LogsPage() {
  const { org } = useOrg();
  const [draft, setDraft] = useState<Filters>({ room_id: "", user_id: "", kind: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  const [entries, setEntries] = useState<LogEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);

  useEffect(() => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
    let source: EventSource | null = null;
    let stopped = false;
    setEntries(null);
    setError(null);
    setLive(false);
    get<{ data: LogEntry[] }>(`/organizations/${org.id}/logs?${query}&limit=${HISTORY}`).then(
      ({ data }) => {
        if (stopped) return;
        const history = newestFirst(data);
        setEntries(history);
        // Resume after the newest entry shown, so nothing logged in between is missed.
        const stream = new URLSearchParams(query);
        if (history[0]) stream.set("last_event_id", history[0].id);
        source = new EventSource(`/api/organizations/${org.id}/logs/stream?${stream}`);
        source.addEventListener("open", () => setLive(true));
        source.addEventListener("error", () => setLive(false));
        source.addEventListener("log", (event) => {
          const entry = JSON.parse((event as MessageEvent<string>).data) as LogEntry;
          setEntries((current) => (current?.some((e) => e.id === entry.id) ? current : [entry, ...(current ?? [])].slice(0, MAX_ENTRIES)));
        });
      },
      (e: unknown) => !stopped && setError(e),
    );
    return () => {
      stopped = true;
      source?.close();
    };
  }, [org.id, filters]);

  const field = (key: keyof Filters) => ({
    value: draft[key],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [key]: e.target.value }),
  });
  return (
    <>
      <PageTitle>Live logs</PageTitle>
      <Form onSubmit={() => setFilters(draft)} className="inline-form">
        <Field label="Room" {...field("room_id")} placeholder="any room" />
        <Field label="User" {...field("user_id")} placeholder="any user" />
        <SelectField label="Kind" {...field("kind")} options={[["", "any kind"], ...KINDS.map((k): [string, string] => [k, k])]} />
        <button type="submit">Apply filters</button>
      </Form>
      <p className="muted" role="status">
        {error ? "Not streaming." : live ? "Live: new entries appear at the top." : entries ? "Connecting to the stream…" : ""}
      </p>
      <ErrorNotice error={error} retry={() => setFilters({ ...filters })} />
      {!error && !entries && <Spinner />}
      {entries && (
        <div className="table-wrap">
          <table data-testid="log-table">
            <caption className="visually-hidden">Log entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Room</th>
                <th scope="col">User</th>
                <th scope="col">Code</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    Nothing yet.
                  </td>
                </tr>
              )}
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(e.at)}</td>
                  <td>
                    <span className={`badge kind-${e.kind}`}>{e.kind}</span>
                  </td>
                  <td>{e.room_id ?? "—"}</td>
                  <td>{e.user_id ?? "—"}</td>
                  <td>{e.code ?? ""}</td>
                  <td>{e.detail ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function newestFirst(entries: LogEntry[]): LogEntry[] {
  return [...entries].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
}
