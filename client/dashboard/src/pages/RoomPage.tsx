/**
 * One room: who is connected now (active-users, which counts every server process, fetched again
 * whenever the organisation's live log streams a connect or disconnect in the room),
 * its settings (edit, delete), its comment threads, and a read-only view of its document when the
 * server offers the REST document endpoint.
 */
import { useEffect, useState } from "react";
import { del, get, isNotFound, patch, type Room } from "../api.ts";
import { can } from "../policy.ts";
import { navigate } from "../router.tsx";
import { ConfirmButton, ErrorNotice, Field, Form, formatDate, LoadState, Notice, PageTitle, Spinner, useAction, useLoad } from "../ui.tsx";
import { useOrg } from "./OrgLayout.tsx";

/** A fallback poll: the live log's stream says when someone comes or goes; this catches a dropped stream. */
const ACTIVE_USERS_POLL_MS = 15_000;
/** Presence reaches active-users a moment after the connection is logged: look again after this. */
const SETTLE_MS = 500;

interface ActiveUser {
  id: string;
  info: { name?: string; color?: string; [key: string]: unknown };
  connections: number;
}

export function RoomPage({ roomId }: { roomId: string }) {
  const { org } = useOrg();
  const base = `/organizations/${org.id}/rooms/${encodeURIComponent(roomId)}`;
  const room = useLoad(() => get<{ room: Room }>(base), [base]);
  return (
    <>
      <PageTitle>{`Room ${roomId}`}</PageTitle>
      <LoadState loaded={room}>
        {({ room: value }) => (
          <div className="grid">
            <ActiveUsers base={base} stream={`/api/organizations/${org.id}/logs/stream?${new URLSearchParams({ room_id: roomId, kind: "connect,disconnect" })}`} />
            <RoomSettings room={value} base={base} onSaved={room.reload} />
            <Threads base={base} />
            <DocumentView base={base} />
          </div>
        )}
      </LoadState>
    </>
  );
}

function ActiveUsers({ base, stream }: { base: string; stream: string }) {
  const [state, setState] = useState<{ users?: ActiveUser[]; error?: unknown }>({});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const fetchUsers = async () => {
      try {
        const { data } = await get<{ data: ActiveUser[] }>(`${base}/active-users`);
        if (!stopped) setState({ users: data });
      } catch (error) {
        if (!stopped) setState((s) => ({ ...s, error }));
      }
    };
    const poll = async () => {
      await fetchUsers();
      if (!stopped) timer = setTimeout(poll, ACTIVE_USERS_POLL_MS);
    };
    void poll();
    // Live: every connect or disconnect in this room, on any server process (the live log).
    const source = new EventSource(stream);
    source.addEventListener("log", () => {
      void fetchUsers();
      setTimeout(() => void (stopped || fetchUsers()), SETTLE_MS);
    });
    return () => {
      stopped = true;
      clearTimeout(timer);
      source.close();
    };
  }, [base, stream]);
  return (
    <section className="card" aria-labelledby="connected-now">
      <h2 id="connected-now">Connected now</h2>
      <ErrorNotice error={state.error} />
      {!state.users && !state.error && <Spinner />}
      {state.users && (
        <ul className="people" aria-live="polite" data-testid="active-users">
          {state.users.length === 0 && <li className="muted">Nobody is connected.</li>}
          {state.users.map((user) => (
            <li key={user.id}>
              <span className="dot" style={{ background: typeof user.info.color === "string" ? user.info.color : "#64748b" }} aria-hidden="true" />
              {user.info.name ?? user.id} <span className="muted">({user.id}, {user.connections} connection{user.connections === 1 ? "" : "s"})</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RoomSettings({ room, base, onSaved }: { room: Room; base: string; onSaved(): void }) {
  const { org } = useOrg();
  const [name, setName] = useState(room.name ?? "");
  const [maxParticipants, setMaxParticipants] = useState(room.maxParticipants?.toString() ?? "");
  const [metadata, setMetadata] = useState(JSON.stringify(room.metadata ?? {}, null, 2));
  const [saved, setSaved] = useState(false);
  const editable = can(org.role, "rooms:write");
  const save = useAction(async () => {
    setSaved(false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata || "{}");
    } catch {
      throw new Error("Metadata must be a JSON object.");
    }
    await patch(base, { name: name.trim() || null, maxParticipants: maxParticipants ? Number(maxParticipants) : null, metadata: parsed });
    setSaved(true);
    onSaved();
  });
  const remove = async () => {
    await del(base);
    navigate(`/organizations/${org.id}/rooms`);
  };
  const metadataId = "room-metadata";
  return (
    <section className="card">
      <h2>Settings</h2>
      {editable ? (
        <Form onSubmit={save.run}>
          <Field label="Name" maxLength={256} value={name} onChange={(e) => setName(e.target.value)} />
          <Field label="Max participants" type="number" min={1} hint="Empty: no limit." value={maxParticipants} onChange={(e) => setMaxParticipants(e.target.value)} />
          <div className="field">
            <label htmlFor={metadataId}>Metadata (JSON)</label>
            <textarea id={metadataId} rows={4} value={metadata} onChange={(e) => setMetadata(e.target.value)} spellCheck={false} />
          </div>
          <ErrorNotice error={save.error} />
          {saved && <Notice kind="success">Saved.</Notice>}
          <button type="submit" disabled={save.busy}>
            Save
          </button>
        </Form>
      ) : (
        <dl className="facts">
          <dt>Name</dt>
          <dd>{room.name ?? "—"}</dd>
          <dt>Max participants</dt>
          <dd>{room.maxParticipants ?? "no limit"}</dd>
          <dt>Metadata</dt>
          <dd>
            <code>{JSON.stringify(room.metadata)}</code>
          </dd>
        </dl>
      )}
      <p className="muted">Created {formatDate(room.createdAt)}</p>
      {can(org.role, "rooms:delete") && (
        <ConfirmButton label="Delete room" title={`Delete room “${room.id}” and its document? Connected users are disconnected.`} expected={room.id} onConfirm={remove} />
      )}
    </section>
  );
}

interface Thread {
  id: string;
  createdBy: string;
  createdAt: number;
  resolved: boolean;
  comments: Array<{ id: string; userId: string; body: unknown; createdAt: number | string; deletedAt?: unknown }>;
}

function Threads({ base }: { base: string }) {
  const threads = useLoad(() => get<{ data: Thread[] }>(`${base}/threads`), [base]);
  return (
    <section className="card">
      <h2>Threads</h2>
      <LoadState loaded={threads}>
        {({ data }) =>
          data.length === 0 ? (
            <p className="muted">No comment threads.</p>
          ) : (
            <ul className="threads">
              {data.map((thread) => (
                <li key={thread.id}>
                  <strong>{thread.createdBy}</strong> · {formatDate(thread.createdAt)} {thread.resolved && <span className="badge success">resolved</span>}
                  <span className="muted"> · {thread.comments.length} comment{thread.comments.length === 1 ? "" : "s"}</span>
                  <ul>
                    {thread.comments.map((comment) => (
                      <li key={comment.id}>
                        {comment.userId}: {plainText(comment.body)}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )
        }
      </LoadState>
    </section>
  );
}

/** A comment body (Liveblocks' paragraphs of text nodes) as plain text. */
function plainText(body: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    const value = node as { text?: unknown; content?: unknown };
    if (typeof value.text === "string") parts.push(value.text);
    if (Array.isArray(value.content)) value.content.forEach(walk);
  };
  walk(body);
  return parts.join(" ") || "(no text)";
}

/** GET …/ydoc: the document as JSON, where the server has it (the REST document endpoint). */
function DocumentView({ base }: { base: string }) {
  const doc = useLoad(async () => {
    try {
      return { value: await get<unknown>(`${base}/ydoc`) };
    } catch (error) {
      if (isNotFound(error)) return { value: undefined };
      throw error;
    }
  }, [base]);
  return (
    <section className="card wide">
      <div className="row spread">
        <h2>Document</h2>
        <button type="button" className="secondary" onClick={doc.reload} disabled={doc.loading}>
          Reload document
        </button>
      </div>
      <LoadState loaded={doc}>
        {({ value }) =>
          value === undefined ? (
            <p className="muted">This server does not offer the document over REST (GET …/ydoc), or the room has no document yet.</p>
          ) : (
            <pre className="document" tabIndex={0} aria-label="The room's document as JSON">
              {JSON.stringify(value, null, 2)}
            </pre>
          )
        }
      </LoadState>
    </section>
  );
}
