/**
 * Which buttons a member's role is offered: the server's policy table (server/domain/orgs/policy.ts,
 * MEMBER_POLICY) for the actions the dashboard shows. The dashboard never imports the server, so the
 * table is restated here; test/unit/client/dashboard-policy.test.ts fails when the two disagree.
 * The server refuses these actions anyway; hiding them only spares a member a 403.
 */
import type { Role } from "./api.ts";

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export const DASHBOARD_POLICY = {
  "org:update": "admin",
  "org:delete": "owner",
  "members:manage": "admin",
  "api_keys:read": "admin",
  "api_keys:manage": "admin",
  "rooms:write": "member",
  "rooms:delete": "admin",
  // Buying a plan or opening the billing portal (the billing area).
  "billing:manage": "owner",
} as const satisfies Record<string, Role>;

export type DashboardAction = keyof typeof DASHBOARD_POLICY;

/** Whether `role` may take `action` (null, an API key's role, is never a dashboard user). */
export function can(role: Role | null | undefined, action: DashboardAction): boolean {
  return role != null && RANK[role] >= RANK[DASHBOARD_POLICY[action]];
}

/** The roles `actor` may grant, change or remove: only an Owner touches the owner role. */
export function manageableRoles(actor: Role | null | undefined): Role[] {
  if (!can(actor, "members:manage")) return [];
  return actor === "owner" ? ["owner", "admin", "member", "viewer"] : ["admin", "member", "viewer"];
}
