/**
 * The signed-in account: who you are, signing out, and changing the password through a reset
 * link mailed to the verified address (a reset also ends every other session).
 */
import { useState } from "react";
import { post } from "../api.ts";
import { navigate } from "../router.tsx";
import { useSession } from "../session.tsx";
import { ErrorNotice, Notice, PageTitle, useAction } from "../ui.tsx";
import { Shell } from "./Shell.tsx";

export function AccountPage() {
  const { user, signOut } = useSession();
  const [sent, setSent] = useState(false);
  const reset = useAction(async () => {
    await post("/auth/forgot-password", { email: user!.email });
    setSent(true);
  });
  const out = useAction(async () => {
    await signOut();
    navigate("/login");
  });
  if (!user) return null;
  return (
    <Shell>
      <PageTitle>Your account</PageTitle>
      <section className="card">
        <dl className="facts">
          <dt>Name</dt>
          <dd>{user.name}</dd>
          <dt>Email</dt>
          <dd>{user.email}</dd>
        </dl>
      </section>
      <section className="card">
        <h2>Password</h2>
        <p>To change your password, we mail a reset link to {user.email}. Changing it signs out your other sessions.</p>
        {sent ? <Notice kind="success">The link is on its way to {user.email}.</Notice> : null}
        <ErrorNotice error={reset.error} />
        <button type="button" className="secondary" onClick={() => reset.run()} disabled={reset.busy || sent}>
          Mail me a reset link
        </button>
      </section>
      <section className="card">
        <h2>Session</h2>
        <ErrorNotice error={out.error} />
        <button type="button" onClick={() => out.run()} disabled={out.busy}>
          Sign out
        </button>
      </section>
    </Shell>
  );
}
