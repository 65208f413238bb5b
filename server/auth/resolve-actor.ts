/**
 * Credentials → Actor, the one place both edges ask "who is this?".
 *
 * REST (server/http/middleware/authenticate.ts): `Authorization: Bearer sk_...` is an API key, and
 * a bad one is a 401, never a silent fallback to the session; without the header, the member the
 * session cookie names (passport.ts restored it) or nobody. A bearer shaped like a JWT is an end
 * user's access token instead (a TokenHolderActor: their own inbox and granted rooms' threads only).
 *
 * WebSocket (extensions/authenticate.ts): the access token a connection presents for a document.
 * Its signature and expiry are checked, then its organisation and room permissions against the
 * document's name; a bad token refuses with 4401, a room it does not grant with 4403. A refreshed
 * token on a live connection (Hocuspocus token sync) must also name the same user and organisation.
 * What comes after the token (revoked issuers, room existence, capacity) is authorize-connection.ts.
 */
import { parseDocumentName } from "../../protocol/document-name.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import { isAppError, UnauthorizedError } from "../errors.ts";
import type { ApiKeyService } from "../domain/api-keys/api-key-service.ts";
import { type AccessTokens, type VerifiedAccessToken } from "./access-token.ts";
import { permissionsForRoom, roomAccess, type RoomPermission } from "../../protocol/permissions.ts";
import type { ApiActor, EndUserActor, TokenHolderActor } from "./actor.ts";
import type { SessionUser } from "./passport.ts";
import { refusal, type Refusal } from "./refusal.ts";

/** What a REST request carries that may say who sent it. */
export interface HttpCredentials {
  /** The Authorization header, when the request has one. */
  authorization: string | undefined;
  /** The member passport restored from the session cookie, when signed in. */
  sessionUser: SessionUser | undefined;
}

export interface ActorResolver {
  /**
   * The REST caller, or null when the request carries no credentials; throws 401 invalid_api_key
   * (or invalid_token / token_expired for a bearer that is an access token).
   */
  fromHttp(credentials: HttpCredentials): Promise<ApiActor | TokenHolderActor | null>;
  /** The end user an access token admits to a document; throws a Refusal (refusal.ts). */
  fromAccessToken(token: string | undefined, documentName: string): Promise<EndUserActor>;
  /** The same end user, as a refreshed token on a live connection now describes them; throws a Refusal. */
  refreshEndUser(current: EndUserActor, token: string): Promise<EndUserActor>;
}

export interface ActorResolverOptions {
  apiKeys: Pick<ApiKeyService, "authenticate">;
  tokens: Pick<AccessTokens, "verify">;
}

export function createActorResolver(options: ActorResolverOptions): ActorResolver {
  async function verify(token: string): Promise<VerifiedAccessToken> {
    try {
      return await options.tokens.verify(token);
    } catch (error) {
      throw unauthorized(isAppError(error) ? error.code : "invalid_token", "The access token is invalid or expired");
    }
  }

  async function verifyHttp(token: string): Promise<VerifiedAccessToken> {
    try {
      return await options.tokens.verify(token);
    } catch (error) {
      throw new UnauthorizedError("The access token is invalid or expired", isAppError(error) ? error.code : "invalid_token");
    }
  }

  return {
    async fromHttp({ authorization, sessionUser }) {
      if (authorization !== undefined) {
        const match = /^Bearer\s+(\S+)$/i.exec(authorization);
        // An end user's access token (a JWT: three base64url parts; API keys are sk_…).
        if (match && JWT_SHAPE.test(match[1]!)) return toTokenHolder(await verifyHttp(match[1]!));
        const key = match ? await options.apiKeys.authenticate(match[1]!) : null;
        if (!key) throw new UnauthorizedError("The API key is invalid, revoked or expired", "invalid_api_key");
        return { kind: "api_key", apiKeyId: key.id, orgId: key.orgId };
      }
      return sessionUser ? { kind: "user", userId: sessionUser.id, email: sessionUser.email } : null;
    },

    async fromAccessToken(token, documentName) {
      if (!token) throw unauthorized("token_missing", "An access token is required");
      const verified = await verify(token);
      const room = parseDocumentName(documentName);
      if (!room || room.orgId !== verified.orgId) throw roomNotGranted(verified);
      return toEndUser(verified, room.roomId);
    },

    async refreshEndUser(current, token) {
      const verified = await verify(token);
      if (verified.userId !== current.userId || verified.orgId !== current.orgId) {
        throw unauthorized("token_mismatch", "A refreshed token must name the same user and organisation");
      }
      return toEndUser(verified, current.roomId);
    },
  };
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function toTokenHolder(verified: VerifiedAccessToken): TokenHolderActor {
  return {
    kind: "token_holder",
    userId: verified.userId,
    orgId: verified.orgId,
    permissions: verified.permissions,
    expiresAt: verified.expiresAt.getTime(),
    issuer: verified.issuer,
  };
}

/** The end-user actor a verified token makes for one room; refused when it grants nothing there. */
function toEndUser(verified: VerifiedAccessToken, roomId: string): EndUserActor {
  const perms: Set<RoomPermission> = permissionsForRoom(verified.permissions, roomId);
  if (perms.size === 0) throw roomNotGranted(verified);
  return {
    kind: "end_user",
    userId: verified.userId,
    orgId: verified.orgId,
    roomId,
    userInfo: verified.userInfo,
    permissions: [...perms],
    access: roomAccess(perms),
    tokenId: verified.tokenId,
    tokenExpiresAt: verified.expiresAt.getTime(),
    tokenIssuedAt: verified.issuedAt.getTime(),
    issuer: verified.issuer,
  };
}

function unauthorized(reason: string, message: string): Refusal {
  return refusal(CloseCodes.Unauthorized.code, reason, message);
}

/** The token verified, so who it names is known (the organisation's live log records the refusal). */
function roomNotGranted(verified: VerifiedAccessToken): Refusal {
  return { ...refusal(CloseCodes.Forbidden.code, "room_not_granted", "The token does not grant this room"), subject: { orgId: verified.orgId, userId: verified.userId } };
}
