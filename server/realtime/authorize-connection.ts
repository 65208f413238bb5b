/**
 * The checks a WebSocket connection passes after its access token verifies (the `authorize`
 * callback of extensions/authenticate.ts):
 *   1. the token's issuer is still valid: the API key that minted it is not revoked, or the member
 *      who minted it is still a member (else 4401 token_revoked). Answers are cached briefly
 *      (5 s) so a reconnect storm does not hit the database, and a revocation takes effect within
 *      that time for new connections;
 *   2. the room exists, or is created on first connection while the organisation is under its
 *      max_rooms (else 4403 plan_limit_reached), as Liveblocks creates rooms on first join;
 *   3. the room is not full: its maxParticipants against the live connections to its document
 *      (else 4005 room_full, Liveblocks' code). Checked before the connection is added, so two
 *      simultaneous joins can both pass the last free seat.
 * Tokens without an issuer were minted with the server secret by trusted code (tests, scripts);
 * their organisation may not exist in this database, in which case only the token is checked.
 */
import type { Hocuspocus } from "@hocuspocus/server";
import type { ConnectionContext } from "../../extensions/authenticate.ts";
import type { SocketContext } from "./collab-socket.ts";
import { logger } from "../logger.ts";
import { refusal } from "../../extensions/authenticate.ts";
import type { ApiKeyService } from "../domain/api-keys/api-key-service.ts";
import type { OrgService } from "../domain/orgs/org-service.ts";
import type { RoomService } from "../domain/rooms/room-service.ts";
import { toDocumentName } from "./document-name.ts";

export const ROOM_FULL_CLOSE_CODE = 4005;

export interface ConnectionAuthorizerOptions {
  apiKeys: ApiKeyService;
  orgs: OrgService;
  rooms: RoomService;
  /** Live connections to a document (Hocuspocus' Document.getConnectionsCount()). */
  connectionsCount: (documentName: string) => number;
  cacheMs?: number;
}

export interface ConnectionAuthorizer {
  (context: ConnectionContext, phase?: AuthorizePhase): Promise<void>;
  /** Drop cached answers about an issuer (called when a key is revoked or a member removed). */
  forgetIssuer(kind: "api_key" | "user", id: string): void;
}

/** "connect" for a new connection; "refresh" for a new token on a live one (onTokenSync). */
export type AuthorizePhase = "connect" | "refresh";

export function createConnectionAuthorizer(options: ConnectionAuthorizerOptions): ConnectionAuthorizer {
  const cacheMs = options.cacheMs ?? 5000;
  const cache = new Map<string, { value: boolean; expires: number }>();

  async function cached(key: string, load: () => Promise<boolean>): Promise<boolean> {
    const hit = cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = await load();
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { value, expires: Date.now() + cacheMs });
    return value;
  }

  const authorize = async (context: ConnectionContext, phase: AuthorizePhase = "connect"): Promise<void> => {
    const { orgId, roomId, issuer } = context;
    if (issuer) {
      const valid = await cached(`${issuer.kind}:${issuer.id}:${orgId}`, async () =>
        issuer.kind === "api_key" ? options.apiKeys.isActive(issuer.id, orgId) : (await options.orgs.roleOf(orgId, issuer.id)) !== null,
      );
      if (!valid) throw refusal(4401, "token_revoked", "The key or member that issued this token is no longer valid");
    }
    const orgExists = await cached(`org:${orgId}`, async () => (await options.orgs.find(orgId)) !== null);
    if (!orgExists) {
      if (issuer) throw refusal(4401, "token_revoked", "The organization of this token no longer exists");
      return;
    }
    // A refreshed token on a live connection: the issuer check above is what matters; the room is
    // already joined (and counted), so neither auto-creation nor the capacity check applies.
    if (phase === "refresh") return;
    const room = await options.rooms.findOrCreateForConnection(orgId, roomId);
    if (!room) throw refusal(4403, "plan_limit_reached", "The organization has reached its max_rooms limit");
    if (room.maxParticipants !== null && options.connectionsCount(toDocumentName(orgId, roomId)) >= room.maxParticipants) {
      throw refusal(ROOM_FULL_CLOSE_CODE, "room_full", "The room is full");
    }
  };
  return Object.assign(authorize, {
    forgetIssuer(kind: "api_key" | "user", id: string) {
      const prefix = `${kind}:${id}:`;
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
    },
  });
}

/**
 * Close the live connections whose token was minted by a key just revoked (or a member just
 * removed from `orgId`): 4401 token_revoked, as a new connection would get. Only this process's
 * connections; other processes refuse reconnections once their 5-second cache lapses.
 */
export function closeIssuerConnections(hocuspocus: Hocuspocus, kind: "api_key" | "user", id: string, orgId?: string): number {
  let closed = 0;
  for (const document of hocuspocus.documents.values()) {
    for (const connection of document.getConnections()) {
      const context = connection.context as Partial<ConnectionContext> & Partial<SocketContext>;
      if (context.issuer?.kind !== kind || context.issuer.id !== id) continue;
      if (orgId !== undefined && context.orgId !== orgId) continue;
      connection.close({ code: 4401, reason: "token_revoked" });
      context.socket?.refuse(document.name, 4401, "token_revoked");
      closed++;
    }
  }
  if (closed > 0) logger.info("Closed connections of a revoked issuer", { kind, closed, orgId });
  return closed;
}
