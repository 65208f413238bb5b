/**
 * The signed-in account: its name, its password (the current one is asked; the other sessions
 * end), its sessions (end any of them; ending this one signs out), and signing out.
 */
import { useState } from "react";
import { del, get, patch, post, type User } from "../api.ts";
import { navigate } from "../router.tsx";
import { useSession } from "../session.tsx";
import { ConfirmButton, ErrorNotice, Field, Form, formatDate, LoadState, Notice, PageTitle, useAction, useLoad } from "../ui.tsx";
import { Shell } from "./Shell.tsx";

interface SessionView {
  id: string;
  createdAt: string;
  lastActiveAt: string;
  expiresAt: string;
  current: boolean;
}

export function AccountPage() {
  const { user, setUser, signOut } = useSession();
  const [name, setName] = useState(user?.name ?? "");
  const [renamed, setRenamed] = useState(false);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [changed, setChanged] = useState(false);
  const sessions = useLoad(() => get<{ data: SessionView[] }>("/me/sessions"), []);
  const rename = useAction(async () => {
    setRenamed(false);
    setUser((await patch<{ user: User }>("/me", { name })).user);
    setRenamed(true);
  });
  const changePassword = useAction(async () => {
    setChanged(false);
    if (next !== repeat) throw new Error("The two new passwords differ.");
    await post("/me/password", { currentPassword: current, newPassword: next });
    setCurrent("");
    setNext("");
    setRepeat("");
    setChanged(true);
    sessions.reload();
  });
  const end = async (session: SessionView) => {
    await del(`/me/sessions/${encodeURIComponent(session.id)}`);
    if (session.current) {
      setUser(null);
      navigate("/login");
    } else sessions.reload();
  };
  const out = useAction(async () => {
    await signOut();
    navigate("/login");
  });
  if (!user) return null;
  return (
    <Shell>
      <PageTitle>Your account</PageTitle>
      <div className="grid">
        <section className="card">
          <h2>Profile</h2>
          <Form onSubmit={rename.run}>
            <Field label="Email" type="email" value={user.email} readOnly />
            <Field label="Name" autoComplete="name" required maxLength={128} value={name} onChange={(e) => setName(e.target.value)} />
            <ErrorNotice error={rename.error} />
            {renamed && <Notice kind="success">Saved.</Notice>}
            <button type="submit" disabled={rename.busy}>
              Save name
            </button>
          </Form>
        </section>
        <section className="card">
          <h2>Password</h2>
          <Form onSubmit={changePassword.run}>
            <Field label="Current password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
            <Field label="New password" type="password" autoComplete="new-password" required minLength={8} hint="At least 8 characters. Your other sessions are signed out." value={next} onChange={(e) => setNext(e.target.value)} />
            <Field label="Repeat the new password" type="password" autoComplete="new-password" required minLength={8} value={repeat} onChange={(e) => setRepeat(e.target.value)} />
            <ErrorNotice error={changePassword.error} />
            {changed && <Notice kind="success">Your password is changed; your other sessions were signed out.</Notice>}
            <button type="submit" disabled={changePassword.busy}>
              Change password
            </button>
          </Form>
        </section>
      </div>
      <section className="card">
        <h2>Sessions</h2>
        <LoadState loaded={sessions}>
          {({ data }) => (
            <ul className="plain" data-testid="sessions">
              {data.map((session) => (
                <li key={session.id} className="row">
                  <span>
                    Signed in {formatDate(session.createdAt)} · last active {formatDate(session.lastActiveAt)}
                    {session.current && <strong> (this browser)</strong>}
                  </span>
                  <ConfirmButton
                    className="secondary"
                    label={session.current ? "Sign out here" : "End session"}
                    title={session.current ? "Sign out of this browser?" : "End this session? That browser is signed out."}
                    onConfirm={() => end(session)}
                  />
                </li>
              ))}
            </ul>
          )}
        </LoadState>
        <ErrorNotice error={out.error} />
        <button type="button" onClick={() => out.run()} disabled={out.busy}>
          Sign out
        </button>
      </section>
    </Shell>
  );
}
