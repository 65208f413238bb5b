/**
 * The invitation mail's link (PUBLIC_URL/accept-invitation?token=…): shows the organisation and
 * role, then accepts as the signed-in account, creates the account (verified by the link) for
 * someone without one, or declines (the link stops working).
 */
import { useEffect, useState } from "react";
import { post, type Organization, type Role, type User } from "../api.ts";
import { Link, navigate, useLocation } from "../router.tsx";
import { useSession } from "../session.tsx";
import { ErrorNotice, Field, Form, Notice, Spinner, useAction } from "../ui.tsx";
import { AuthFrame } from "./auth-pages.tsx";

interface Preview {
  organization: { id: string; name: string };
  email: string;
  role: Role;
}

export function AcceptInvitationPage() {
  const { search } = useLocation();
  const token = search.get("token") ?? "";
  const { user, setUser } = useSession();
  const [preview, setPreview] = useState<{ value?: Preview; error?: unknown }>({});
  const [declined, setDeclined] = useState(false);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  useEffect(() => {
    if (!token) return;
    post<{ invitation: Preview }>("/invitations/preview", { token }).then(
      ({ invitation }) => setPreview({ value: invitation }),
      (error: unknown) => setPreview({ error }),
    );
  }, [token]);
  const accept = useAction(async () => {
    const { organization } = await post<{ organization: Organization }>("/invitations/accept", { token });
    navigate(`/organizations/${organization.id}`);
  });
  const decline = useAction(async () => {
    await post("/invitations/decline", { token });
    setDeclined(true);
  });
  const register = useAction(async () => {
    const joined = await post<{ user: User; organization: Organization }>("/invitations/register", { token, name, password });
    setUser(joined.user);
    navigate(`/organizations/${joined.organization.id}`);
  });

  const here = `/accept-invitation?token=${encodeURIComponent(token)}`;
  const invitation = preview.value;
  return (
    <AuthFrame title="Join an organisation">
      {!token && <Notice kind="error">This link has no token. Open the link from the mail again.</Notice>}
      {token && !invitation && !preview.error && <Spinner />}
      {preview.error !== undefined && (
        <>
          <ErrorNotice error={preview.error} />
          <p>The invitation may have expired, been withdrawn or replaced by a newer one.</p>
        </>
      )}
      {invitation && declined && (
        <Notice>
          You declined to join {invitation.organization.name}; the link no longer works. <Link to="/">Go to the dashboard</Link>
        </Notice>
      )}
      {invitation && !declined && (
        <>
          <p>
            You are invited to <strong>{invitation.organization.name}</strong> as <strong>{invitation.role}</strong> ({invitation.email}).
          </p>
          {user === undefined && <Spinner />}
          {user && (
            <>
              {user.email.toLowerCase() !== invitation.email && (
                <Notice kind="warning">
                  You are signed in as {user.email}; the invitation is for {invitation.email}. Sign in with that address to accept it.
                </Notice>
              )}
              <ErrorNotice error={accept.error ?? decline.error} />
              <div className="row">
                <button type="button" onClick={() => accept.run()} disabled={accept.busy}>
                  Accept and join
                </button>
                <button type="button" className="secondary" onClick={() => decline.run()} disabled={decline.busy}>
                  Decline
                </button>
              </div>
            </>
          )}
          {user === null && (
            <>
              <h2>New here? Create your account</h2>
              <Form onSubmit={register.run}>
                <Field label="Email" type="email" value={invitation.email} readOnly />
                <Field label="Name" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />
                <Field label="Password" type="password" autoComplete="new-password" required minLength={8} hint="At least 8 characters." value={password} onChange={(e) => setPassword(e.target.value)} />
                <ErrorNotice error={register.error ?? decline.error} />
                <button type="submit" disabled={register.busy}>
                  Create account and join
                </button>
              </Form>
              <p>
                Already have an account? <Link to={`/login?email=${encodeURIComponent(invitation.email)}&next=${encodeURIComponent(here)}`}>Sign in to accept</Link> ·{" "}
                <button type="button" className="link" onClick={() => decline.run()} disabled={decline.busy}>
                  Decline the invitation
                </button>
              </p>
            </>
          )}
        </>
      )}
    </AuthFrame>
  );
}
