/**
 * Authentication of WebSocket connections. A connection presents an access token for each document
 * it opens; the token's signature, expiry, organisation and room permissions decide whether it may
 * open the document and whether it may write. Failures answer Hocuspocus' permission-denied message
 * and then close the socket with 4401 (bad token) or 4403 (room not granted), as Hocuspocus' own
 * close codes name them.
 */
import type { Connection, Extension, Hocuspocus, onAuthenticatePayload, onConfigurePayload, onTokenSyncPayload } from "@hocuspocus/server";
import {
  permissionsForRoom,
  roomAccess,
  type AccessTokens,
  type RoomAccess,
  type RoomPermission,
  type UserInfo,
} from "../server/auth/access-token.ts";
import { parseDocumentName } from "../protocol/document-name.ts";
import { isAppError } from "../server/errors.ts";
import { logger } from "../server/logger.ts";
import { CollabSocket } from "../server/realtime/collab-socket.ts";
import type { SocketContext } from "../server/realtime/socket-edge.ts";
import { CloseCodes } from "../protocol/close-codes.ts";

/** What every later hook finds in `context` for an authenticated connection. */
export interface ConnectionContext extends SocketContext {
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
  /** The API key or member that minted the token (absent for tokens minted by trusted code). */
  issuer?: { kind: "api_key" | "user"; id: string };
}

export interface AuthenticateOptions {
  tokens: AccessTokens;
  /** Extra checks after the token (revoked keys, room existence, capacity); throws to refuse. */
  authorize?: (context: ConnectionContext, phase?: "connect" | "refresh") => Promise<void>;
  /** How often connections are checked for an expired, unrefreshed token (ms); default 1000. */
  expirySweepMs?: number;
}

export class Authenticate implements Extension {
  extensionName = "syncforge-authenticate";
  priority = 900;

  private readonly tokens: AccessTokens;
  private readonly authorize?: AuthenticateOptions["authorize"];

  constructor(options: AuthenticateOptions) {
    this.tokens = options.tokens;
    this.authorize = options.authorize;
    this.expirySweepMs = options.expirySweepMs ?? 1000;
  }

  private readonly expirySweepMs: number;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;

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
      let verified;
      try {
        verified = await this.tokens.verify(payload.token);
      } catch (error) {
        throw refusal(4401, isAppError(error) ? error.code : "invalid_token", "The access token is invalid or expired");
      }
      if (verified.userId !== context.userId || verified.orgId !== context.orgId) {
        throw refusal(4401, "token_mismatch", "A refreshed token must name the same user and organisation");
      }
      const perms = permissionsForRoom(verified.permissions, context.roomId);
      if (perms.size === 0) throw refusal(4403, "room_not_granted", "The token does not grant this room");
      const access = roomAccess(perms);
      // The issuer (API key, member) may have been revoked or demoted since the first token was minted.
      if (this.authorize) await this.authorize({ ...context, issuer: verified.issuer, access, tokenIssuedAt: verified.issuedAt.getTime() }, "refresh");
      context.permissions = [...perms];
      context.access = access;
      context.userInfo = verified.userInfo;
      context.tokenId = verified.tokenId;
      context.issuer = verified.issuer;
      context.tokenExpiresAt = verified.expiresAt.getTime();
      context.tokenIssuedAt = verified.issuedAt.getTime();
      // Comment writers send document updates too; extensions/comments.ts refuses any that touch content.
      payload.connection.readOnly = !(access.canWrite || access.canWriteComments);
      context.socket?.setReadLevel({ address: payload.connection.messageAddress }, access.readLevel);
    } catch (error) {
      const r = toRefusal(error);
      logger.info("Refused a token refresh", { code: r.code, reason: r.reason, roomId: context.roomId, orgId: context.orgId });
      closeConnection(payload.connection, payload.documentName, r);
    }
  }

  async onAuthenticate(payload: onAuthenticatePayload): Promise<Partial<ConnectionContext>> {
    const { documentName, token, connectionConfig } = payload;
    const socket = (payload.context as Partial<SocketContext>).socket;
    const room = parseDocumentName(documentName);
    try {
      if (!token) throw refusal(4401, "token_missing", "An access token is required");
      let verified;
      try {
        verified = await this.tokens.verify(token);
      } catch (error) {
        throw refusal(4401, isAppError(error) ? error.code : "invalid_token", "The access token is invalid or expired");
      }
      if (!room || room.orgId !== verified.orgId) throw refusal(4403, "room_not_granted", "The token does not grant this room");
      const perms = permissionsForRoom(verified.permissions, room.roomId);
      if (perms.size === 0) throw refusal(4403, "room_not_granted", "The token does not grant this room");
      const access = roomAccess(perms);
      const context: ConnectionContext = {
        ...(payload.context as SocketContext),
        userId: verified.userId,
        orgId: verified.orgId,
        roomId: room.roomId,
        userInfo: verified.userInfo,
        permissions: [...perms],
        access,
        tokenId: verified.tokenId,
        tokenExpiresAt: verified.expiresAt.getTime(),
        tokenIssuedAt: verified.issuedAt.getTime(),
        issuer: verified.issuer,
      };
      if (this.authorize) await this.authorize(context);
      // Comment writers send document updates too; extensions/comments.ts refuses any that touch content.
      connectionConfig.readOnly = !(access.canWrite || access.canWriteComments);
      // Before the connection exists: from its first message on, the socket edge sends a reader
      // without room read access only what its level allows (server/realtime/read-filter.ts).
      socket?.setReadLevel({ documentName, token }, access.readLevel);
      return context;
    } catch (error) {
      const r = toRefusal(error);
      logger.info("Refused a WebSocket connection", { code: r.code, reason: r.reason, roomId: room?.roomId, orgId: room?.orgId });
      socket?.refuse(documentName, r.code, r.reason);
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
        logger.info("Closing a connection whose access token expired", { roomId: (connection.context as ConnectionContext).roomId });
        closeConnection(connection, document.name, refusal(4401, "token_expired", "The access token has expired"));
        closed++;
      }
    }
  }
  return closed;
}

export interface Refusal {
  code: number;
  reason: string;
  message: string;
}

/** A Hocuspocus-shaped rejection: `reason` goes to the client in the permission-denied message. */
export function refusal(code: number, reason: string, message: string): Refusal {
  return { code, reason, message };
}

function toRefusal(error: unknown): Refusal {
  if (error && typeof error === "object" && "code" in error && "reason" in error && typeof (error as Refusal).code === "number") {
    return error as Refusal;
  }
  if (isAppError(error)) {
    return refusal(error.status === 401 ? 4401 : 4403, error.code, error.message);
  }
  logger.error("Authentication failed unexpectedly", { error: (error as Error)?.message });
  return refusal(CloseCodes.InternalError.code, CloseCodes.InternalError.reason, "Authentication failed");
}
