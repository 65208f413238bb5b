/**
 * Who may do what in an organisation. Two explicit tables: the lowest member role allowed to take
 * each action, and whether an API key may take it. An API key acts for its own organisation only,
 * with Admin-equivalent rights over rooms and access tokens; it may NOT manage members or API keys,
 * so a leaked key can be revoked and cannot mint itself a successor or invite an attacker.
 */
import { roomAccess, type RoomAccess, type RoomPermission } from "../../../protocol/permissions.ts";

export const ORG_ROLES = ["owner", "admin", "member", "viewer"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

const RANK: Record<OrgRole, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export const ORG_ACTIONS = [
  "org:read",
  "org:update",
  "org:delete",
  "members:read",
  "members:manage",
  "api_keys:read",
  "api_keys:manage",
  "rooms:read",
  "rooms:write",
  "rooms:delete",
  "rooms:join",
  "logs:read",
  "access_tokens:mint",
  "users:act_as",
  "notifications:send",
  "billing:read",
  "billing:manage",
  "webhooks:read",
  "webhooks:manage",
] as const;
export type OrgAction = (typeof ORG_ACTIONS)[number];

/** The lowest role a signed-in member needs for each action. */
export const MEMBER_POLICY: Record<OrgAction, OrgRole> = {
  "org:read": "viewer",
  "org:update": "admin",
  // Deleting the organisation (its rooms, documents and keys): its Owners only.
  "org:delete": "owner",
  "members:read": "viewer",
  "members:manage": "admin",
  "api_keys:read": "admin",
  "api_keys:manage": "admin",
  "rooms:read": "viewer",
  "rooms:write": "member",
  "rooms:delete": "admin",
  "rooms:join": "viewer",
  // The live log (connects, refusals, comment writes) shows ids only: whoever reads the org's rooms.
  "logs:read": "viewer",
  "access_tokens:mint": "admin",
  // Whoever may mint a token for any end user may as well act as them over REST.
  "users:act_as": "admin",
  "notifications:send": "admin",
  // Billing (issue 19): anyone who reads the organisation sees its plan and usage; buying a plan,
  // changing the payment method or cancelling spends the organisation's money, which is an
  // Owner's decision (as making someone an Owner is): Admins run the workspace, not its bill.
  "billing:read": "viewer",
  "billing:manage": "owner",
  // Endpoints receive every room's events and hold signing secrets.
  "webhooks:read": "admin",
  "webhooks:manage": "admin",
};

/** What an API key may do in its own organisation. */
export const API_KEY_POLICY: Record<OrgAction, boolean> = {
  "org:read": true,
  "org:update": false,
  "org:delete": false,
  "members:read": true,
  "members:manage": false,
  "api_keys:read": false,
  "api_keys:manage": false,
  "rooms:read": true,
  "rooms:write": true,
  "rooms:delete": true,
  "rooms:join": false,
  // A backend may tail its organisation's live log (ship it to its own log store).
  "logs:read": true,
  "access_tokens:mint": true,
  "users:act_as": true,
  "notifications:send": true,
  // A backend may check its plan and usage; it never buys, cancels or opens the billing portal.
  "billing:read": true,
  "billing:manage": false,
  // A backend registers its own endpoints (Liveblocks' management API); a key reads all rooms anyway.
  "webhooks:read": true,
  "webhooks:manage": true,
};

export function isOrgRole(value: unknown): value is OrgRole {
  return typeof value === "string" && (ORG_ROLES as readonly string[]).includes(value);
}

export function hasRole(role: OrgRole, minimum: OrgRole): boolean {
  return RANK[role] >= RANK[minimum];
}

/** Whether a member with `role` may take `action`. */
export function canMember(role: OrgRole, action: OrgAction): boolean {
  return hasRole(role, MEMBER_POLICY[action]);
}

export function canApiKey(action: OrgAction): boolean {
  return API_KEY_POLICY[action];
}

/**
 * Whether the caller may act as end user `userId` (write comments as them, read or change their
 * inbox and settings): an API key or an Owner/Admin for anyone of the organisation (they may mint
 * that user a token anyway), any other member only as themselves (their account id).
 */
/** The caller's standing as canActAs needs it (server/auth's OrgAccess has this shape). */
export interface ActingAccess {
  actor: { kind: "user"; userId: string } | { kind: "api_key"; apiKeyId: string };
  role: OrgRole | null;
}

export function canActAs(access: ActingAccess, userId: string): boolean {
  if (access.actor.kind === "api_key") return canApiKey("users:act_as");
  if (access.actor.userId === userId) return true;
  return access.role !== null && canMember(access.role, "users:act_as");
}

/**
 * Room permissions a member gets when joining from the dashboard: Owner/Admin/Member edit,
 * a Viewer only reads.
 */
export function roomPermissionsForRole(role: OrgRole): RoomPermission[] {
  return role === "viewer" ? ["room:read", "comments:read"] : ["room:write", "comments:write"];
}

/**
 * Changing who is an Owner is an Owner's decision: an Admin may manage admins, members and
 * viewers, but may not grant the owner role nor change or remove an Owner.
 */
export function canAssignRole(actorRole: OrgRole, currentRole: OrgRole | null, nextRole: OrgRole | null): boolean {
  if (!hasRole(actorRole, "admin")) return false;
  if (actorRole === "owner") return true;
  return currentRole !== "owner" && nextRole !== "owner";
}

/**
 * Whether a member with `role` may grant, now, what a token gives `tokenUserId` in one room: an
 * Owner or Admin mints any token; a Member or Viewer only gets tokens for itself (the room-token
 * endpoint), with its role's permissions. Checked at every connection and whenever a role changes,
 * so a token never outlives its issuer's right to mint it.
 */
export function canMemberGrant(role: OrgRole, issuerId: string, tokenUserId: string, access: RoomAccess): boolean {
  if (canMember(role, "access_tokens:mint")) return true;
  if (tokenUserId !== issuerId) return false;
  const grantable = roomAccess(new Set(roomPermissionsForRole(role)));
  return (Object.keys(access) as Array<keyof RoomAccess>).every((right) => !access[right] || grantable[right]);
}
