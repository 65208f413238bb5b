/**
 * Access tokens for end users: short-lived JWTs (HS256, signed with the server secret) naming the
 * user, the organisation and per-room permissions, as Liveblocks' access tokens do. Room patterns
 * are an exact room id or a prefix ending in "*"; permissions only add up.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { UnauthorizedError, BadRequestError } from "../errors.ts";
import { ROOM_PERMISSIONS, type RoomPermission } from "../../protocol/permissions.ts";


export const MAX_ROOM_PATTERNS = 10;
export const ROOM_PATTERN = /^[^*\u0000-\u001f/]{1,128}\*?$|^\*$/;

/**
 * End-user ids (a token's `sub`, comment authors, inbox owners): 1–128 characters, no control
 * characters, which no database column or log line should have to hold.
 */
export const END_USER_ID_PATTERN = /^[^\u0000-\u001f\u007f]{1,128}$/;
export const endUserIdSchema = z.string().regex(END_USER_ID_PATTERN, "1 to 128 characters, no control characters");

export const userInfoSchema = z
  .object({
    name: z.string().max(128).optional(),
    avatar: z.string().max(1024).optional(),
    color: z.string().max(32).optional(),
  })
  .catchall(z.unknown())
  .refine((v) => JSON.stringify(v).length <= 1024, "userInfo must be at most 1024 JSON characters");
export type UserInfo = z.infer<typeof userInfoSchema>;

export const permissionsSchema = z
  .record(z.string().regex(ROOM_PATTERN, "room pattern must be a room id or a prefix ending in *"), z.array(z.enum(ROOM_PERMISSIONS)).min(1))
  .refine((v) => Object.keys(v).length >= 1 && Object.keys(v).length <= MAX_ROOM_PATTERNS, `between 1 and ${MAX_ROOM_PATTERNS} room patterns`);
export type RoomPermissions = z.infer<typeof permissionsSchema>;

/** The API key or member that minted a token, so revoking it revokes the token. */
export interface TokenIssuer {
  kind: "api_key" | "user";
  id: string;
}

export interface AccessTokenClaims {
  userId: string;
  orgId: string;
  permissions: RoomPermissions;
  userInfo: UserInfo;
  /** The API key or session that minted it, so revoking the key revokes its tokens. */
  issuer?: TokenIssuer;
}

export interface VerifiedAccessToken extends AccessTokenClaims {
  tokenId: string;
  expiresAt: Date;
  /** When it was minted (millisecond precision), compared with a room's deletion time. */
  issuedAt: Date;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  org: z.string().min(1).max(64),
  perms: permissionsSchema,
  info: z.record(z.string(), z.unknown()).default({}),
  iss_kind: z.enum(["api_key", "user"]).optional(),
  iss_id: z.string().optional(),
  jti: z.string(),
  exp: z.number(),
  iat: z.number().optional(),
});

export class AccessTokens {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;

  constructor(secret: string, ttlSeconds: number) {
    this.key = new TextEncoder().encode(`access-token:${secret}`);
    this.ttlSeconds = ttlSeconds;
  }

  /** Mint a token; `now` is injectable so expiry can be tested without sleeping. */
  async sign(claims: AccessTokenClaims, now: Date = new Date()): Promise<{ token: string; expiresAt: Date }> {
    if (!END_USER_ID_PATTERN.test(claims.userId)) throw new BadRequestError("userId must be 1 to 128 characters without control characters", "invalid_user_id");
    // iat keeps milliseconds (a NumericDate may be fractional): a token minted just after a room
    // was deleted must be told apart from one minted just before (see authorize-connection.ts).
    const iat = now.getTime() / 1000;
    const exp = Math.floor(iat) + this.ttlSeconds;
    const token = await new SignJWT({
      org: claims.orgId,
      perms: claims.permissions,
      info: claims.userInfo,
      ...(claims.issuer ? { iss_kind: claims.issuer.kind, iss_id: claims.issuer.id } : {}),
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(claims.userId)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setAudience("syncforge:room")
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verify signature, audience and expiry; throws UnauthorizedError with a stable code. */
  async verify(token: string, now: Date = new Date()): Promise<VerifiedAccessToken> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ["HS256"],
        audience: "syncforge:room",
        currentDate: now,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new UnauthorizedError("The access token has expired", "token_expired");
      throw new UnauthorizedError("The access token is invalid", "invalid_token");
    }
    const parsed = claimsSchema.safeParse(payload);
    if (!parsed.success) throw new UnauthorizedError("The access token is invalid", "invalid_token");
    const c = parsed.data;
    return {
      userId: c.sub,
      orgId: c.org,
      permissions: c.perms,
      userInfo: c.info as UserInfo,
      issuer: c.iss_kind && c.iss_id ? { kind: c.iss_kind, id: c.iss_id } : undefined,
      tokenId: c.jti,
      expiresAt: new Date(c.exp * 1000),
      // A token without iat is treated as minted at the epoch: older than any deletion.
      issuedAt: new Date(Math.round((c.iat ?? 0) * 1000)),
    };
  }
}

/** Read the organisation claim without verifying: only to route a message, never to trust it. */
export function peekTokenOrg(token: string): string | null {
  const part = token.split(".")[1];
  if (!part || part.length > 8192) return null;
  try {
    const payload = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as { org?: unknown };
    return typeof payload.org === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(payload.org) ? payload.org : null;
  } catch {
    return null;
  }
}
