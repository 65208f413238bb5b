/**
 * Who is calling. Both edges turn credentials into an Actor (resolve-actor.ts): a signed-in team
 * member (session cookie) or an organisation's API key (`Authorization: Bearer sk_...`) on the
 * REST API, an end user holding an access token (access-token.ts) on WebSockets.
 */
import type { RoomPermissions, TokenIssuer, UserInfo } from "./access-token.ts";
import type { RoomAccess, RoomPermission } from "../../protocol/permissions.ts";
import type { OrgRole } from "../domain/orgs/policy.ts";

/** A team member signed in to the dashboard or the REST API with a session cookie. */
export interface UserActor {
  kind: "user";
  userId: string;
  email: string;
}

/** An organisation's backend, calling the REST API with one of its API keys. */
export interface ApiKeyActor {
  kind: "api_key";
  apiKeyId: string;
  orgId: string;
}

/**
 * An end user of a team's app, holding an access token for one room of one organisation: what a
 * WebSocket connection is after authentication (spread into its Hocuspocus context, see
 * server/realtime/connection-context.ts).
 */
export interface EndUserActor {
  kind: "end_user";
  userId: string;
  orgId: string;
  roomId: string;
  userInfo: UserInfo;
  permissions: RoomPermission[];
  access: RoomAccess;
  tokenId: string;
  tokenExpiresAt: number;
  /** When the token was minted (ms): a room deleted since refuses it (authorize-connection.ts). */
  tokenIssuedAt: number;
  /** Absent for tokens minted with the server secret by trusted code (tests, scripts). */
  issuer?: TokenIssuer;
}

/**
 * An end user calling the REST API from the browser with their access token (`Authorization:
 * Bearer <JWT>`): only their own inbox and notification settings, and the threads of the rooms the
 * token grants comments:read in (requireOrgAccess's `endUser` option). Never an ApiActor.
 */
export interface TokenHolderActor {
  kind: "token_holder";
  userId: string;
  orgId: string;
  permissions: RoomPermissions;
  /** When the token expires (ms): a live stream ends then. */
  expiresAt: number;
  issuer?: TokenIssuer;
}

export type Actor = UserActor | ApiKeyActor | EndUserActor | TokenHolderActor;

/** Who may call the REST API: end users reach rooms over WebSockets only. */
export type ApiActor = UserActor | ApiKeyActor;

/** The caller's standing in the organisation a route addresses (set by requireOrgAccess). */
export interface OrgAccess {
  actor: ApiActor;
  /** The member's role; for an API key, null (its rights come from API_KEY_POLICY). */
  role: OrgRole | null;
}

/** The issuer recorded in access tokens minted by this actor. */
export function issuerOf(actor: ApiActor): TokenIssuer {
  return actor.kind === "api_key" ? { kind: "api_key", id: actor.apiKeyId } : { kind: "user", id: actor.userId };
}

export function actorId(actor: ApiActor): string {
  return actor.kind === "api_key" ? actor.apiKeyId : actor.userId;
}
