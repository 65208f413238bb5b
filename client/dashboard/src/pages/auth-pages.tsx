/**
 * Signed-out pages: sign in, sign up, and the landing pages of the account mails
 * (PUBLIC_URL/verify-email?token=…, PUBLIC_URL/reset-password?token=…), which complete them.
 */
import { useEffect, useState, type ReactNode } from "react";
import { ApiError, post, type User } from "../api.ts";
import { Link, navigate, useLocation } from "../router.tsx";
import { useSession } from "../session.tsx";
import { ErrorNotice, Field, Form, Notice, Spinner, useAction } from "../ui.tsx";

export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · SyncForge`;
  }, [title]);
  return (
    <main className="auth">
      <div className="card auth-card">
        <p className="brand">SyncForge</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** Only a path of this site: a `next` pointing elsewhere would make sign-in an open redirect. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function LoginPage() {
  const { search } = useLocation();
  const { setUser } = useSession();
  const [email, setEmail] = useState(search.get("email") ?? "");
  const [password, setPassword] = useState("");
  const [resent, setResent] = useState(false);
  const login = useAction(async () => {
    const { user } = await post<{ user: User }>("/auth/login", { email, password });
    setUser(user);
    navigate(safeNext(search.get("next")), { replace: true });
  });
  const resend = async () => {
    await post("/auth/resend-verification", { email });
    setResent(true);
  };
  const unverified = login.error instanceof ApiError && login.error.code === "email_not_verified";
  return (
    <AuthFrame title="Sign in">
      <Form onSubmit={login.run}>
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorNotice error={login.error} />
        {unverified && !resent && (
          <button type="button" className="secondary" onClick={resend}>
            Send the verification link again
          </button>
        )}
        {resent && <Notice kind="success">If this account is not verified yet, a new link is on its way.</Notice>}
        <button type="submit" disabled={login.busy}>
          {login.busy ? "Signing in…" : "Sign in"}
        </button>
      </Form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link> · <Link to="/signup">Create an account</Link>
      </p>
    </AuthFrame>
  );
}

export function SignUpPage() {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const signUp = useAction(async () => {
    await post("/auth/register", { name, email, password });
    setDone(true);
  });
  if (done) {
    return (
      <AuthFrame title="Check your inbox">
        <Notice kind="success">
          A link to finish signing up is on its way to <strong>{email}</strong>. Open it to verify your email, then sign in.
        </Notice>
        <p>
          <Link to={`/login?email=${encodeURIComponent(email)}`}>Go to sign in</Link>
        </p>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title="Create your account">
      <Form onSubmit={signUp.run}>
        <Field label="Name" autoComplete="name" required maxLength={128} value={name} onChange={(e) => setName(e.target.value)} />
        <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          hint="At least 8 characters."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorNotice error={signUp.error} />
        <button type="submit" disabled={signUp.busy}>
          {signUp.busy ? "Creating…" : "Create account"}
        </button>
      </Form>
      <p>
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </AuthFrame>
  );
}

// A mail link's token is single use: React may run an effect twice (StrictMode), so each token's
// request is made once per page and shared.
const once = new Map<string, Promise<unknown>>();
function postOnce<T>(path: string, body: { token: string }): Promise<T> {
  const key = `${path}:${body.token}`;
  if (!once.has(key)) once.set(key, post<T>(path, body));
  return once.get(key) as Promise<T>;
}

export function VerifyEmailPage() {
  const { search } = useLocation();
  const token = search.get("token") ?? "";
  const [state, setState] = useState<{ user?: User; error?: unknown }>({});
  useEffect(() => {
    if (!token) return;
    postOnce<{ user: User }>("/auth/verify-email", { token }).then(
      ({ user }) => setState({ user }),
      (error: unknown) => setState({ error }),
    );
  }, [token]);
  return (
    <AuthFrame title="Verify your email">
      {!token && <Notice kind="error">This link has no token. Open the link from the mail again.</Notice>}
      {token && !state.user && !state.error && <Spinner label="Verifying…" />}
      {state.error !== undefined && (
        <>
          <ErrorNotice error={state.error} />
          <p>The link may have expired or been used already. Sign in to have a new one sent.</p>
        </>
      )}
      {state.user && (
        <>
          <Notice kind="success">Your email {state.user.email} is verified.</Notice>
          <p>
            <Link className="button" to={`/login?email=${encodeURIComponent(state.user.email)}`}>
              Sign in
            </Link>
          </p>
        </>
      )}
    </AuthFrame>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const send = useAction(async () => {
    await post("/auth/forgot-password", { email });
    setSent(true);
  });
  return (
    <AuthFrame title="Reset your password">
      {sent ? (
        <Notice kind="success">If an account uses {email}, a link to reset its password is on its way. It works for an hour.</Notice>
      ) : (
        <Form onSubmit={send.run}>
          <Field label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <ErrorNotice error={send.error} />
          <button type="submit" disabled={send.busy}>
            Send a reset link
          </button>
        </Form>
      )}
      <p>
        <Link to="/login">Back to sign in</Link>
      </p>
    </AuthFrame>
  );
}

export function ResetPasswordPage() {
  const { search } = useLocation();
  const token = search.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [user, setUser] = useState<User | null>(null);
  const reset = useAction(async () => {
    if (password !== confirm) throw new Error("The two passwords differ.");
    setUser((await post<{ user: User }>("/auth/reset-password", { token, password })).user);
  });
  return (
    <AuthFrame title="Choose a new password">
      {!token && <Notice kind="error">This link has no token. Open the link from the mail again.</Notice>}
      {user ? (
        <>
          <Notice kind="success">Your password is changed. Your other sessions were signed out.</Notice>
          <p>
            <Link className="button" to={`/login?email=${encodeURIComponent(user.email)}`}>
              Sign in
            </Link>
          </p>
        </>
      ) : (
        token && (
          <Form onSubmit={reset.run}>
            <Field label="New password" type="password" autoComplete="new-password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} />
            <Field label="Repeat the new password" type="password" autoComplete="new-password" required minLength={8} value={confirm} onChange={(e) => setConfirm(e.target.value)} />
            <ErrorNotice error={reset.error} />
            <button type="submit" disabled={reset.busy}>
              Change password
            </button>
          </Form>
        )
      )}
    </AuthFrame>
  );
}
