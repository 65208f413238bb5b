/**
 * The checks a WebSocket connection passes after its access token verifies (the `authorize`
 * callback of extensions/authenticate.ts):
 *   1. the token's issuer may still grant it: the API key that minted it is not revoked; the member
 *      who minted it is still a member and its role may mint this token now (policy.ts
 *      canMemberGrant: an Admin demoted to Member no longer vouches for tokens it gave others).
 *      Else 4401 token_revoked. Answers are cached briefly (5 s) so a reconnect storm does not hit
 *      the database; revocations, removals and role changes drop the cached answer at once in
 *      every process (revocation.ts, through Redis);
 *   2. the room exists, or is created on first connection by a token that may write, while the
 *      organisation is under its max_rooms (as Liveblocks creates rooms on first join). Else 4404
 *      room_not_found (a read-only token), 4403 plan_limit_reached, or 4404 room_deleted when the
 *      room was deleted after the token was minted (room-service.ts);
 *   3. the room is not full: its maxParticipants against the live connections to its document in
 *      this process plus those other processes hold (Redis presence), else 4005 room_full
 *      (Liveblocks' code). Checked before the connection is added, so two simultaneous joins can
 *      both pass the last free seat (best effort, across processes too).
 * Tokens without an issuer were minted with the server secret by trusted code (tests, scripts);
 * their organisation may not exist in this database, in which case only the token is checked.
 */
import type { Hocuspocus } from "@hocuspocus/server";
import type { ConnectionContext } from "../../extensions/authenticate.ts";
import type { SocketContext } from "./socket-edge.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import { logger } from "../logger.ts";
import { refusal, type Refusal } from "../../extensions/authenticate.ts";
import type { ApiKeyService } from "../domain/api-keys/api-key-service.ts";
import type { OrgService } from "../domain/orgs/org-service.ts";
import type { RoomRefusal, RoomService } from "../domain/rooms/room-service.ts";
import { canMemberGrant } from "../domain/orgs/policy.ts";
import { toDocumentName } from "../../protocol/document-name.ts";


const ROOM_REFUSALS: Record<RoomRefusal, Refusal> = {
  room_deleted: refusal(CloseCodes.RoomDeleted.code, CloseCodes.RoomDeleted.reason, "The room was deleted after this token was minted"),
  room_not_found: refusal(CloseCodes.RoomNotFound.code, CloseCodes.RoomNotFound.reason, "The room does not exist, and only a token with room:write creates it"),
  plan_limit_reached: refusal(4403, "plan_limit_reached", "The organization has reached its max_rooms limit"),
};

export interface ConnectionAuthorizerOptions {
  apiKeys: ApiKeyService;
  orgs: OrgService;
  rooms: RoomService;
  /** Live connections to a document in this process (Hocuspocus' Document.getConnectionsCount()). */
  connectionsCount: (documentName: string) => number;
  /** Connections to the room held by other processes (Redis presence); absent with one process. */
  connectionsElsewhere?: (orgId: string, roomId: string) => Promise<number>;
  cacheMs?: number;
}

export interface ConnectionAuthorizer {
  (context: ConnectionContext, phase?: AuthorizePhase): Promise<void>;
  /** Drop cached answers about an issuer (a key revoked, a member removed or given another role). */
  forgetIssuer(kind: "api_key" | "user", id: string): void;
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

  async function checkIssuer(context: ConnectionContext): Promise<void> {
    const { orgId, issuer } = context;
    if (!issuer) return;
    if (issuer.kind === "api_key") {
      const active = await cached(`api_key:${issuer.id}:${orgId}`, () => options.apiKeys.isActive(issuer.id, orgId));
      if (!active) throw tokenRevoked("The key that issued this token is no longer valid");
      return;
    }
    const role = await cached(`user:${issuer.id}:${orgId}`, () => options.orgs.roleOf(orgId, issuer.id));
    if (!role) throw tokenRevoked("The member who issued this token is no longer a member");
    if (!canMemberGrant(role, issuer.id, context.userId, context.access)) {
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

  const authorize = async (context: ConnectionContext, phase: AuthorizePhase = "connect"): Promise<void> => {
    const { orgId, roomId, issuer } = context;
    await checkIssuer(context);
    const orgExists = await cached(`org:${orgId}`, async () => (await options.orgs.find(orgId)) !== null);
    if (!orgExists) {
      if (issuer) throw tokenRevoked("The organization of this token no longer exists");
      return;
    }
    // A refreshed token on a live connection: the issuer check above is what matters; the room is
    // already joined (and counted), so neither auto-creation nor the capacity check applies.
    if (phase === "refresh") return;
    const opened = await options.rooms.openForConnection(orgId, roomId, {
      tokenIssuedAt: new Date(context.tokenIssuedAt),
      mayCreate: context.access.canWrite,
    });
    if ("refused" in opened) throw ROOM_REFUSALS[opened.refused];
    const max = opened.room.maxParticipants;
    if (max === null) return;
    const here = options.connectionsCount(toDocumentName(orgId, roomId));
    if (here >= max || here + (await othersInRoom(orgId, roomId)) >= max) {
      throw refusal(CloseCodes.RoomFull.code, CloseCodes.RoomFull.reason, "The room is full");
    }
  };
  return Object.assign(authorize, {
    forgetIssuer(kind: "api_key" | "user", id: string) {
      generation++;
      const prefix = `${kind}:${id}:`;
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
    },
  });
}

/**
 * Close this process's live connections whose token was minted by an issuer that no longer
 * vouches for it: a key just revoked, a member just removed from `orgId`, or (with `keep`) a
 * member whose new role may not grant what the token gives. 4401 token_revoked, as a new
 * connection with the token would get; on /yjs too (yws-socket.ts maps the reason to the code).
 */
export function closeIssuerConnections(
  hocuspocus: Hocuspocus,
  kind: "api_key" | "user",
  id: string,
  orgId?: string,
  keep?: (context: ConnectionContext) => boolean,
): number {
  let closed = 0;
  for (const document of hocuspocus.documents.values()) {
    for (const connection of document.getConnections()) {
      const context = connection.context as Partial<ConnectionContext> & Partial<SocketContext>;
      if (context.issuer?.kind !== kind || context.issuer.id !== id) continue;
      if (orgId !== undefined && context.orgId !== orgId) continue;
      if (keep?.(context as ConnectionContext)) continue;
      connection.close({ code: CloseCodes.TokenRevoked.code, reason: CloseCodes.TokenRevoked.reason });
      context.socket?.refuse(document.name, CloseCodes.TokenRevoked.code, CloseCodes.TokenRevoked.reason);
      closed++;
    }
  }
  if (closed > 0) logger.info("Closed connections of a revoked issuer", { kind, closed, orgId });
  return closed;
}
