/**
 * The checks a WebSocket connection passes after its access token verifies (the `authorize`
 * callback of extensions/authenticate.ts):
 *   1. the token's issuer may still grant it: the API key that minted it is not revoked; the member
 *      who minted it is still a member and its role may mint this token now (policy.ts
 *      canMemberGrant: an Admin demoted to Member no longer vouches for tokens it gave others).
 *      Else 4401 token_revoked. Answers are cached briefly (5 s) so a reconnect storm does not hit
 *      the database; revocations, removals and role changes drop the cached answer at once in
 *      every process (server/realtime/revocation.ts, through Redis);
 *   2. the room exists, or is created on first connection by a token that may write, while the
 *      organisation is under its plan's rooms limit (as Liveblocks creates rooms on first join). Else
 *      4404 room_not_found (a read-only token), 4402 plan_limit_reached, or 4404 room_deleted when
 *      the room was deleted after the token was minted (room-service.ts);
 *   3. the room is not full: its maxParticipants against the live connections to its document in
 *      this process plus those other processes hold (Redis presence), else 4005 room_full
 *      (Liveblocks' code). Checked before the connection is added, so two simultaneous joins can
 *      both pass the last free seat (best effort, across processes too);
 *   4. the end user is counted in the organisation's monthly active users, or may still be under
 *      its plan's limit (server/domain/usage/mau-gate.ts), else 4402 plan_limit_reached. Users
 *      already counted this month always pass.
 * Tokens without an issuer were minted with the server secret by trusted code (tests, scripts);
 * their organisation may not exist in this database, in which case only the token is checked.
 */
import { CloseCodes } from "../../protocol/close-codes.ts";
import { toDocumentName } from "../../protocol/document-name.ts";
import { logger } from "../logger.ts";
import type { ApiKeyService } from "../domain/api-keys/api-key-service.ts";
import type { OrgService } from "../domain/orgs/org-service.ts";
import type { RoomRefusal, RoomService } from "../domain/rooms/room-service.ts";
import { canMemberGrant } from "../domain/orgs/policy.ts";
import type { TokenIssuer } from "./access-token.ts";
import type { EndUserActor } from "./actor.ts";
import { refusal, type Refusal } from "./refusal.ts";

const ROOM_REFUSALS: Record<RoomRefusal, Refusal> = {
  room_deleted: refusal(CloseCodes.RoomDeleted.code, CloseCodes.RoomDeleted.reason, "The room was deleted after this token was minted"),
  room_not_found: refusal(CloseCodes.RoomNotFound.code, CloseCodes.RoomNotFound.reason, "The room does not exist, and only a token with room:write creates it"),
  plan_limit_reached: refusal(CloseCodes.PlanLimitReached.code, CloseCodes.PlanLimitReached.reason, "The organization has reached its plan's rooms limit"),
};

export interface ConnectionAuthorizerOptions {
  apiKeys: ApiKeyService;
  orgs: OrgService;
  rooms: RoomService;
  /** Live connections to a document in this process (Hocuspocus' Document.getConnectionsCount()). */
  connectionsCount: (documentName: string) => number;
  /** Connections to the room held by other processes (Redis presence); absent with one process. */
  connectionsElsewhere?: (orgId: string, roomId: string) => Promise<number>;
  /** Whether the end user may be (or already is) one of the org's monthly active users; absent: no limit. */
  admitUser?: (orgId: string, userId: string) => Promise<{ admitted: true } | { admitted: false; limit: number }>;
  cacheMs?: number;
}

export interface ConnectionAuthorizer {
  (actor: EndUserActor, phase?: AuthorizePhase): Promise<void>;
  /** Drop cached answers about an issuer (a key revoked, a member removed or given another role). */
  forgetIssuer(kind: TokenIssuer["kind"], id: string): void;
}

/** "connect" for a new connection; "refresh" for a new token on a live one (onTokenSync). */
export type AuthorizePhase = "connect" | "refresh";

function tokenRevoked(message: string): Refusal {
  return refusal(CloseCodes.TokenRevoked.code, CloseCodes.TokenRevoked.reason, message);
}

export function createConnectionAuthorizer(options: ConnectionAuthorizerOptions): ConnectionAuthorizer {
  const cacheMs = options.cacheMs ?? 5000;
  const cache = new Map<string, { value: unknown; expires: number }>();
  // Bumped by every forgetIssuer: an answer loaded before a revocation arrived is used once, not
  // cached, or it would outlive the revocation by the cache time.
  let generation = 0;

  async function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.value as T;
    const started = generation;
    const value = await load();
    if (generation !== started) return value;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { value, expires: Date.now() + cacheMs });
    return value;
  }

  async function checkIssuer(actor: EndUserActor): Promise<void> {
    const { orgId, issuer } = actor;
    if (!issuer) return;
    if (issuer.kind === "api_key") {
      const active = await cached(`api_key:${issuer.id}:${orgId}`, () => options.apiKeys.isActive(issuer.id, orgId));
      if (!active) throw tokenRevoked("The key that issued this token is no longer valid");
      return;
    }
    const role = await cached(`user:${issuer.id}:${orgId}`, () => options.orgs.roleOf(orgId, issuer.id));
    if (!role) throw tokenRevoked("The member who issued this token is no longer a member");
    if (!canMemberGrant(role, issuer.id, actor.userId, actor.access)) {
      throw tokenRevoked("The member who issued this token may no longer grant it");
    }
  }

  async function othersInRoom(orgId: string, roomId: string): Promise<number> {
    if (!options.connectionsElsewhere) return 0;
    try {
      return await options.connectionsElsewhere(orgId, roomId);
    } catch (error) {
      // Best effort: without Redis, count this process alone rather than refuse everyone.
      logger.warn("Could not count a room's connections on other processes", { orgId, roomId, error: (error as Error).message });
      return 0;
    }
  }

  const authorize = async (actor: EndUserActor, phase: AuthorizePhase = "connect"): Promise<void> => {
    const { orgId, roomId, issuer } = actor;
    await checkIssuer(actor);
    const orgExists = await cached(`org:${orgId}`, async () => (await options.orgs.find(orgId)) !== null);
    if (!orgExists) {
      if (issuer) throw tokenRevoked("The organization of this token no longer exists");
      return;
    }
    // A refreshed token on a live connection: the issuer check above is what matters; the room is
    // already joined (and counted), so neither auto-creation nor the capacity check applies.
    if (phase === "refresh") return;
    const opened = await options.rooms.openForConnection(orgId, roomId, {
      tokenIssuedAt: new Date(actor.tokenIssuedAt),
      mayCreate: actor.access.canWrite,
    });
    if ("refused" in opened) throw ROOM_REFUSALS[opened.refused];
    const max = opened.room.maxParticipants;
    if (max !== null) {
      const here = options.connectionsCount(toDocumentName(orgId, roomId));
      if (here >= max || here + (await othersInRoom(orgId, roomId)) >= max) {
        throw refusal(CloseCodes.RoomFull.code, CloseCodes.RoomFull.reason, "The room is full");
      }
    }
    const admission = await options.admitUser?.(orgId, actor.userId);
    if (admission && !admission.admitted) {
      // The limit goes in the reason, which the client sees (`plan_limit_reached: 50 monthly active users`).
      throw refusal(
        CloseCodes.PlanLimitReached.code,
        `${CloseCodes.PlanLimitReached.reason}: ${admission.limit} monthly active users`,
        `The organization's plan allows ${admission.limit} monthly active users`,
      );
    }
  };
  return Object.assign(authorize, {
    forgetIssuer(kind: TokenIssuer["kind"], id: string) {
      generation++;
      const prefix = `${kind}:${id}:`;
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
    },
  });
}
