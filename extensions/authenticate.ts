/**
 * Authentication of WebSocket connections. A connection presents an access token for each document
 * it opens; the token's signature, expiry, organisation and room permissions decide whether it may
 * open the document and whether it may write. Failures answer Hocuspocus' permission-denied message
 * and then close the socket with 4401 (bad token) or 4403 (room not granted), as Hocuspocus' own
 * close codes name them.
 */
import type { Extension, onAuthenticatePayload } from "@hocuspocus/server";
import {
  permissionsForRoom,
  roomAccess,
  type AccessTokens,
  type RoomAccess,
  type RoomPermission,
  type UserInfo,
} from "../server/auth/access-token.ts";
import { parseDocumentName } from "../server/realtime/document-name.ts";
import { isAppError } from "../server/errors.ts";
import { logger } from "../server/logger.ts";
import type { SocketContext } from "../server/realtime/collab-socket.ts";

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
  /** The API key or member that minted the token (absent for tokens minted by trusted code). */
  issuer?: { kind: "api_key" | "user"; id: string };
}

export interface AuthenticateOptions {
  tokens: AccessTokens;
  /** Extra checks after the token (revoked keys, room existence, capacity); throws to refuse. */
  authorize?: (context: ConnectionContext) => Promise<void>;
}

export class Authenticate implements Extension {
  extensionName = "syncforge-authenticate";
  priority = 900;

  private readonly tokens: AccessTokens;
  private readonly authorize?: AuthenticateOptions["authorize"];

  constructor(options: AuthenticateOptions) {
    this.tokens = options.tokens;
    this.authorize = options.authorize;
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
        issuer: verified.issuer,
      };
      if (this.authorize) await this.authorize(context);
      // Comment writers send document updates too; extensions/comments.ts refuses any that touch content.
      connectionConfig.readOnly = !(access.canWrite || access.canWriteComments);
      return context;
    } catch (error) {
      const r = toRefusal(error);
      logger.info("Refused a WebSocket connection", { code: r.code, reason: r.reason, roomId: room?.roomId, orgId: room?.orgId });
      socket?.refuse(documentName, r.code, r.reason);
      throw r;
    }
  }
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
  return refusal(4500, "internal_error", "Authentication failed");
}
