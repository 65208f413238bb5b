/**
 * The routes. Pages reached from a mail's link (verify, reset, accept an invitation) and the
 * sign-in pages work signed out; every other page asks to sign in first and comes back after.
 */
import { useEffect } from "react";
import { navigate, useLocation } from "./router.tsx";
import { useSession } from "./session.tsx";
import { ErrorNotice, Spinner } from "./ui.tsx";
import { ForgotPasswordPage, LoginPage, ResetPasswordPage, SignUpPage, VerifyEmailPage } from "./pages/auth-pages.tsx";
import { AcceptInvitationPage } from "./pages/AcceptInvitationPage.tsx";
import { AccountPage } from "./pages/AccountPage.tsx";
import { OrgListPage } from "./pages/OrgListPage.tsx";
import { OrgLayout } from "./pages/OrgLayout.tsx";

const PUBLIC = {
  "/login": LoginPage,
  "/signup": SignUpPage,
  "/verify-email": VerifyEmailPage,
  "/forgot-password": ForgotPasswordPage,
  "/reset-password": ResetPasswordPage,
  "/accept-invitation": AcceptInvitationPage,
} as const;

export function App() {
  const { pathname, search } = useLocation();
  // Stripe Checkout and the billing portal return to PUBLIC_URL/?org_id=…&checkout=… (billing area).
  const billingReturn = pathname === "/" && search.get("org_id");
  useEffect(() => {
    if (!billingReturn) return;
    const checkout = search.get("checkout");
    navigate(`/organizations/${encodeURIComponent(billingReturn)}/billing${checkout ? `?checkout=${encodeURIComponent(checkout)}` : ""}`, { replace: true });
  }, [billingReturn, search]);
  const { user, error } = useSession();
  const Public = PUBLIC[pathname as keyof typeof PUBLIC];
  const needsLogin = !Public && user === null;
  useEffect(() => {
    if (needsLogin) navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }, [needsLogin]);

  if (Public) return <Public />;
  if (error) return <main className="centered"><ErrorNotice error={error} retry={() => location.reload()} /></main>;
  if (!user) return <main className="centered"><Spinner /></main>;
  if (pathname === "/account") return <AccountPage />;
  if (pathname === "/" || pathname === "/organizations") return <OrgListPage />;
  const org = matchPrefix(pathname);
  if (org) return <OrgLayout orgId={org.org!} />;
  return (
    <main className="centered">
      <h1>Page not found</h1>
      <p>
        <a href="/">Back to your organisations</a>
      </p>
    </main>
  );
}

/** `/organizations/:org` and everything under it. */
function matchPrefix(pathname: string): Record<string, string> | null {
  const [, first, org] = pathname.split("/");
  return first === "organizations" && org ? { org: decodeURIComponent(org) } : null;
}
