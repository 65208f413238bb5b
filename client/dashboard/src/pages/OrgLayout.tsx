/**
 * An organisation's pages under /organizations/:org/…: loads the organisation (with the caller's
 * role, which decides the buttons offered) and whether billing runs, then the page of the path.
 */
import { createContext, useContext } from "react";
import { get, isNotFound, type Organization } from "../api.ts";
import { Link, useLocation } from "../router.tsx";
import { can } from "../policy.ts";
import { LoadState, useLoad, type Loaded } from "../ui.tsx";
import { Shell } from "./Shell.tsx";
import { OverviewPage } from "./OverviewPage.tsx";
import { RoomsPage } from "./RoomsPage.tsx";
import { RoomPage } from "./RoomPage.tsx";
import { ApiKeysPage } from "./ApiKeysPage.tsx";
import { MembersPage } from "./MembersPage.tsx";
import { SettingsPage } from "./SettingsPage.tsx";
import { UsagePage } from "./UsagePage.tsx";
import { BillingPage, type Billing } from "./BillingPage.tsx";
import { LogsPage } from "./LogsPage.tsx";

interface OrgContextValue {
  org: Organization;
  reload(): void;
  /** null when billing is off on this server (the billing endpoint is absent or disabled). */
  billing: Loaded<Billing | null>;
}

const OrgContext = createContext<OrgContextValue | null>(null);

export function useOrg(): OrgContextValue {
  const value = useContext(OrgContext);
  if (!value) throw new Error("useOrg outside OrgLayout");
  return value;
}

/** The billing state, or null when billing is off (404, or enabled: false). */
export async function loadBilling(orgId: string): Promise<Billing | null> {
  try {
    const billing = await get<Billing>(`/organizations/${orgId}/billing`);
    return billing.enabled ? billing : null;
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export function OrgLayout({ orgId }: { orgId: string }) {
  const loaded = useLoad(() => get<{ organization: Organization }>(`/organizations/${orgId}`), [orgId]);
  const billing = useLoad(() => loadBilling(orgId), [orgId]);
  const { pathname } = useLocation();
  const base = `/organizations/${encodeURIComponent(orgId)}`;
  const rest = pathname.slice(base.length).split("/").filter(Boolean).map(decodeURIComponent);
  const section = rest[0] ?? "overview";
  const role = loaded.data?.organization.role;
  const links: Array<[string, string, boolean]> = [
    ["overview", "Overview", true],
    ["rooms", "Rooms", true],
    ["api-keys", "API keys", can(role, "api_keys:read")],
    ["members", "Members", true],
    ["usage", "Usage", true],
    ["logs", "Live logs", true],
    ["billing", "Billing", billing.data != null],
    ["settings", "Settings", true],
  ];
  const nav = (
    <nav aria-label="Organisation" className="sidenav">
      <ul>
        {links
          .filter(([, , shown]) => shown)
          .map(([path, label]) => (
            <li key={path}>
              <Link to={`${base}/${path}`} aria-current={section === path ? "page" : undefined}>
                {label}
              </Link>
            </li>
          ))}
      </ul>
    </nav>
  );
  return (
    <Shell orgId={orgId} nav={nav}>
      <LoadState loaded={loaded}>
        {({ organization }) => (
          <OrgContext.Provider value={{ org: organization, reload: loaded.reload, billing }}>
            <Section section={section} rest={rest} />
          </OrgContext.Provider>
        )}
      </LoadState>
    </Shell>
  );
}

function Section({ section, rest }: { section: string; rest: string[] }) {
  switch (section) {
    case "overview":
      return <OverviewPage />;
    case "rooms":
      return rest[1] ? <RoomPage roomId={rest[1]} /> : <RoomsPage />;
    case "api-keys":
      return <ApiKeysPage />;
    case "members":
      return <MembersPage />;
    case "usage":
      return <UsagePage />;
    case "logs":
      return <LogsPage />;
    case "billing":
      return <BillingPage />;
    case "settings":
      return <SettingsPage />;
    default:
      return (
        <p>
          No such page. <Link to="./overview">Go to the overview</Link>
        </p>
      );
  }
}
