/**
 * The WebSocket edge of authentication. A connection presents an access token for each document it
 * opens; server/auth turns it into an end-user Actor (resolve-actor.ts) and admits it or not
 * (authorize-connection.ts). This extension spreads that actor into the connection's context and
 * sets read-only and the socket's read level from its access. Failures answer Hocuspocus'
 * permission-denied message and then close the socket with 4401 (bad token) or 4403 (room not
 * granted), as Hocuspocus' own close codes name them.
 */
import type { Connection, Extension, Hocuspocus, onAuthenticatePayload, onConfigurePayload, onDisconnectPayload, onTokenSyncPayload } from "@hocuspocus/server";
import type { ActorResolver } from "../server/auth/resolve-actor.ts";
import type { AuthorizePhase } from "../server/auth/authorize-connection.ts";
import type { EndUserActor } from "../server/auth/actor.ts";
import { refusal, toRefusal, type Refusal } from "../server/auth/refusal.ts";
import { parseDocumentName } from "../protocol/document-name.ts";
import { CloseCodes } from "../protocol/close-codes.ts";
import { logger } from "../server/logger.ts";
import { CollabSocket } from "../server/realtime/collab-socket.ts";
import type { SocketContext } from "../server/realtime/socket-edge.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";

export interface AuthenticateOptions {
  actors: Pick<ActorResolver, "fromAccessToken" | "refreshEndUser">;
  /** Extra checks after the token (revoked keys, room existence, capacity); throws to refuse. */
  authorize?: (actor: EndUserActor, phase?: AuthorizePhase) => Promise<void>;
  /** How often connections are checked for an expired, unrefreshed token (ms); default 1000. */
  expirySweepMs?: number;
}

export class Authenticate implements Extension {
  extensionName = "syncforge-authenticate";
  priority = 900;

  private readonly actors: AuthenticateOptions["actors"];
  private readonly authorize?: AuthenticateOptions["authorize"];
  private readonly expirySweepMs: number;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;

  constructor(options: AuthenticateOptions) {
    this.actors = options.actors;
    this.authorize = options.authorize;
    this.expirySweepMs = options.expirySweepMs ?? 1000;
  }

  /** Start the sweep that closes connections whose token expired without a refresh (4401). */
  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => closeExpiredConnections(instance), this.expirySweepMs);
    this.sweepTimer.unref?.();
  }

  async onDestroy(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  /**
   * A client refreshing its token on a live connection (Hocuspocus token sync). The new token must
   * verify and name the same user and organisation, and still grant this room; then the
   * connection's expiry (and its permissions, which may have changed) are updated in place, so
   * the refresh is invisible to the user. A token that fails closes this document with 4401/4403.
   * The context object is mutated, not replaced: Connection.context is the same object.
   */
  async onTokenSync(payload: onTokenSyncPayload): Promise<void> {
    const context = payload.connection.context as ConnectionContext;
    try {
      const actor = await this.actors.refreshEndUser(context, payload.token);
      // The issuer (API key, member) may have been revoked or demoted since the first token was minted.
      if (this.authorize) await this.authorize(actor, "refresh");
      Object.assign(context, actor);
      // Comment writers send document updates too; extensions/comments.ts refuses any that touch content.
      payload.connection.readOnly = !(actor.access.canWrite || actor.access.canWriteComments);
      context.socket?.setReadLevel({ address: payload.connection.messageAddress }, actor.access.readLevel);
    } catch (error) {
      const r = toRefusal(error);
      logger.info("Refused a token refresh", { code: r.code, reason: r.reason, roomId: context.roomId, orgId: context.orgId });
      closeConnection(payload.connection, payload.documentName, r);
    }
  }

  /** The socket no longer carries this document: its later refusals are not this room's. */
  async onDisconnect({ documentName, context }: onDisconnectPayload): Promise<void> {
    (context as Partial<SocketContext> | undefined)?.socket?.identify(documentName, null);
  }

  async onAuthenticate(payload: onAuthenticatePayload): Promise<Partial<ConnectionContext>> {
    const { documentName, token, connectionConfig } = payload;
    const socket = (payload.context as Partial<SocketContext>).socket;
    let actor: EndUserActor | null = null;
    try {
      actor = await this.actors.fromAccessToken(token, documentName);
      if (this.authorize) await this.authorize(actor);
      // Comment writers send document updates too; extensions/comments.ts refuses any that touch content.
      connectionConfig.readOnly = !(actor.access.canWrite || actor.access.canWriteComments);
      // Before the connection exists: from its first message on, the socket edge sends a reader
      // without room read access only what its level allows (server/realtime/read-filter.ts).
      socket?.setReadLevel({ documentName, token }, actor.access.readLevel);
      socket?.identify(documentName, { orgId: actor.orgId, roomId: actor.roomId, userId: actor.userId });
      return { ...(payload.context as SocketContext), ...actor };
    } catch (error) {
      const r = toRefusal(error);
      const room = parseDocumentName(documentName);
      logger.info("Refused a WebSocket connection", { code: r.code, reason: r.reason, roomId: room?.roomId, orgId: room?.orgId });
      // To the organisation's live log only when the token verified (an actor, or a refusal that
      // names its subject): an unverified token could name any organisation.
      const who = actor ?? r.subject;
      socket?.refuse(documentName, r.code, r.reason, who && room ? { orgId: who.orgId, roomId: room.roomId, userId: who.userId } : undefined);
      throw r;
    }
  }
}

/** Close one document's connection, and the socket when it carried nothing else. */
function closeConnection(connection: Connection, documentName: string, r: Refusal): void {
  connection.close({ code: r.code, reason: r.reason });
  (connection.context as Partial<SocketContext>).socket?.refuse(documentName, r.code, r.reason);
}

/**
 * Close every /collab connection whose token has expired: Hocuspocus clients (the SDK) refresh
 * theirs before expiry over token sync. Stock y-websocket clients on /yjs have no way to refresh a
 * live connection, so they keep the access their token gave when they connected (Liveblocks'
 * connect-time check) rather than being cut off every token lifetime.
 */
export function closeExpiredConnections(instance: Hocuspocus, now: number = Date.now()): number {
  let closed = 0;
  for (const document of instance.documents.values()) {
    for (const connection of document.getConnections()) {
      const context = connection.context as Partial<ConnectionContext>;
      const expiresAt = context.tokenExpiresAt;
      if (typeof expiresAt === "number" && expiresAt <= now && context.socket instanceof CollabSocket) {
        logger.info("Closing a connection whose access token expired", { roomId: context.roomId });
        const expired = refusal(CloseCodes.Unauthorized.code, "token_expired", "The access token has expired");
        closeConnection(connection, document.name, expired);
        closed++;
      }
    }
  }
  return closed;
}
