/**
 * The frame of every signed-in page: a header with the organisation switcher and the account
 * menu, an optional side navigation, and the page. Collapses to one column on a phone.
 */
import type { ReactNode } from "react";
import { get, type Organization } from "../api.ts";
import { Link, navigate } from "../router.tsx";
import { useSession } from "../session.tsx";
import { useLoad } from "../ui.tsx";

export function Shell({ orgId, nav, children }: { orgId?: string; nav?: ReactNode; children: ReactNode }) {
  const { user } = useSession();
  const orgs = useLoad(() => get<{ data: Organization[] }>("/organizations"), [orgId]);
  return (
    <div className="shell">
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          SyncForge
        </Link>
        {orgs.data && orgs.data.data.length > 0 && (
          <div className="switcher">
            <label htmlFor="org-switcher" className="visually-hidden">
              Organisation
            </label>
            <select id="org-switcher" value={orgId ?? ""} onChange={(e) => navigate(e.target.value ? `/organizations/${e.target.value}` : "/")}>
              {!orgId && <option value="">Choose an organisation</option>}
              {orgs.data.data.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <nav aria-label="Account" className="account-links">
          <Link to="/">Organisations</Link>
          <Link to="/account">{user?.name ?? "Account"}</Link>
        </nav>
      </header>
      <div className={nav ? "with-nav" : "no-nav"}>
        {nav}
        <main id="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
