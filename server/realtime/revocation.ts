/**
 * What every process does when access is withdrawn (control-events.ts brings the events from the
 * process that handled the request):
 *   - a key revoked or a member removed: drop the cached issuer answer, close the connections
 *     whose token it minted with 4401 token_revoked;
 *   - a member given another role: drop the cached answer, close with 4401 token_revoked the
 *     connections whose token the new role may not grant (a token is never downgraded in place:
 *     its holder gets a new one, which the SDK's token source fetches; tokens still within the
 *     role's grant stay open);
 *   - a room deleted: close its connections with 4404 room_deleted and drop the document
 *     (destroy-document.ts);
 *   - an organisation's plan changed: drop its cached entitlement (entitlements.ts). Nothing is
 *     closed: limits apply to new connections, rooms and writes.
 */
import type { Hocuspocus } from "@hocuspocus/server";
import type { ConnectionAuthorizer } from "../auth/authorize-connection.ts";
import type { TokenIssuer } from "../auth/access-token.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import type { ConnectionContext } from "./connection-context.ts";
import type { DocumentDestroyer } from "./destroy-document.ts";
import type { ControlHandler } from "./control-events.ts";
import { canMemberGrant } from "../domain/orgs/policy.ts";
import { logger } from "../logger.ts";

/** The handler of control events, shared by the process that made the change and every other. */
export function createRevocationHandler(deps: {
  hocuspocus: () => Hocuspocus;
  authorize: ConnectionAuthorizer;
  documents: DocumentDestroyer;
  entitlements?: { forget(orgId: string): void };
}): ControlHandler {
  return async (event, origin) => {
    switch (event.type) {
      case "api_key_revoked":
        deps.authorize.forgetIssuer("api_key", event.keyId);
        closeIssuerConnections(deps.hocuspocus(), "api_key", event.keyId);
        return;
      case "member_changed": {
        const { orgId, userId, role } = event;
        deps.authorize.forgetIssuer("user", userId);
        const keep = role === null ? undefined : (context: ConnectionContext) => canMemberGrant(role, userId, context.userId, context.access);
        closeIssuerConnections(deps.hocuspocus(), "user", userId, orgId, keep);
        return;
      }
      case "room_deleted":
        if (origin === "local") await deps.documents.destroy(event.orgId, event.roomId);
        else await deps.documents.discardCopy(event.orgId, event.roomId);
        return;
      case "entitlements_changed":
        deps.entitlements?.forget(event.orgId);
        return;
      default:
        throw new Error(`unknown control event ${(event as { type: string }).type}`);
    }
  };
}

/**
 * Close this process's live connections whose token was minted by an issuer that no longer
 * vouches for it: a key just revoked, a member just removed from `orgId`, or (with `keep`) a
 * member whose new role may not grant what the token gives. 4401 token_revoked, as a new
 * connection with the token would get; on /yjs too (yws-socket.ts maps the reason to the code).
 */
export function closeIssuerConnections(
  hocuspocus: Hocuspocus,
  kind: TokenIssuer["kind"],
  id: string,
  orgId?: string,
  keep?: (context: ConnectionContext) => boolean,
): number {
  let closed = 0;
  for (const document of hocuspocus.documents.values()) {
    for (const connection of document.getConnections()) {
      const context = connection.context as Partial<ConnectionContext>;
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
