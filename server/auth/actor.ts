/**
 * Who is calling. Both edges turn credentials into an Actor: a signed-in team member (session
 * cookie) or an organisation's API key (`Authorization: Bearer sk_...`). End users on WebSockets
 * carry access tokens instead (see access-token.ts and extensions/authenticate.ts).
 */
import type { OrgRole } from "../domain/orgs/policy.ts";

export type Actor =
  | { kind: "user"; userId: string; email: string }
  | { kind: "api_key"; apiKeyId: string; orgId: string };

/** The caller's standing in the organisation a route addresses (set by requireOrgAccess). */
export interface OrgAccess {
  actor: Actor;
  /** The member's role; for an API key, null (its rights come from API_KEY_POLICY). */
  role: OrgRole | null;
}

/** The issuer recorded in access tokens minted by this actor. */
export function issuerOf(actor: Actor): { kind: "api_key" | "user"; id: string } {
  return actor.kind === "api_key" ? { kind: "api_key", id: actor.apiKeyId } : { kind: "user", id: actor.userId };
}

export function actorId(actor: Actor): string {
  return actor.kind === "api_key" ? actor.apiKeyId : actor.userId;
}
