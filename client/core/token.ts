/**
 * Access tokens on the client: fetched from the app's own backend (the auth endpoint), cached, and
 * refreshed before they expire — at 80% of their lifetime by default — so a live connection can
 * hand the server a new token (Hocuspocus token sync) without ever disconnecting. The JWT payload
 * is read (not verified: only the server can) for its expiry and the user it names.
 */
import { permissionsForRoom } from "../../protocol/permissions.ts";

export interface TokenClaims {
  userId: string;
  orgId: string | null;
  info: Record<string, unknown>;
  /** Room pattern → permissions, as granted by the app's backend. */
  permissions: Record<string, string[]>;
  /** Seconds since the epoch. */
  issuedAt: number | null;
  expiresAt: number | null;
}

/** Read a JWT's claims without verifying it; null when it is not a JWT. */
export function readTokenClaims(token: string): TokenClaims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    return {
      userId: typeof payload.sub === "string" ? payload.sub : "",
      orgId: typeof payload.org === "string" ? payload.org : null,
      info: payload.info && typeof payload.info === "object" ? (payload.info as Record<string, unknown>) : {},
      permissions: payload.perms && typeof payload.perms === "object" ? (payload.perms as Record<string, string[]>) : {},
      issuedAt: typeof payload.iat === "number" ? payload.iat : null,
      expiresAt: typeof payload.exp === "number" ? payload.exp : null,
    };
  } catch {
    return null;
  }
}

/**
 * When to refresh, in ms from now. Measured from the token's own lifetime (exp − iat, both set by
 * the server) so client clock skew does not matter, and never later than `ratio` of what is left.
 */
export function refreshDelay(claims: Pick<TokenClaims, "issuedAt" | "expiresAt">, nowMs: number, ratio = 0.8): number | null {
  if (claims.expiresAt === null) return null;
  const remaining = claims.expiresAt * 1000 - nowMs;
  const lifetime = claims.issuedAt !== null ? (claims.expiresAt - claims.issuedAt) * 1000 : remaining;
  return Math.max(0, Math.min(lifetime * ratio, remaining * ratio));
}

/**
 * The app's token endpoint. Called with a room id for a room, and with none for the user's inbox
 * (as Liveblocks does): then any token of the user will do, since the inbox reads only its claims'
 * user and organisation.
 */
export type AuthEndpoint = string | ((roomId?: string) => Promise<string | { token: string }>);

/** POST { room } to the app's endpoint ({} for the inbox); it answers { token } (its backend minted it for this user). */
export async function fetchToken(endpoint: AuthEndpoint, roomId: string | undefined, fetchImpl: typeof fetch = globalThis.fetch): Promise<string> {
  if (typeof endpoint === "function") {
    const result = await endpoint(roomId);
    return typeof result === "string" ? result : result.token;
  }
  const response = await fetchImpl(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ room: roomId }),
  });
  if (!response.ok) throw new Error(`The auth endpoint answered ${response.status}`);
  const body = (await response.json()) as { token?: unknown };
  if (typeof body.token !== "string") throw new Error("The auth endpoint's answer has no token");
  return body.token;
}

export interface TokenSourceOptions {
  /** Returns a fresh token. */
  fetch: () => Promise<string>;
  /** A fixed token is never refreshed. */
  fixed?: string;
  refreshRatio?: number;
  onRefreshed?: (token: string) => void;
  onError?: (error: Error) => void;
}

/** One room's token: the cached value, the in-flight fetch and the refresh timer. */
export class TokenSource {
  private readonly options: TokenSourceOptions;
  private token: string | null;
  private claimsValue: TokenClaims | null;
  private pending: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;
  private failures = 0;

  constructor(options: TokenSourceOptions) {
    this.options = options;
    this.token = options.fixed ?? null;
    this.claimsValue = this.token ? readTokenClaims(this.token) : null;
  }

  get claims(): TokenClaims | null {
    return this.claimsValue;
  }

  /** The cached token while it is valid for a few more seconds, else a fresh one. */
  async get(): Promise<string> {
    if (this.options.fixed) return this.options.fixed;
    const claims = this.claimsValue;
    const exp = claims?.expiresAt;
    // Still good if it outlives a small margin: 2 s, or a tenth of a very short token's lifetime.
    const lifetimeMs = exp != null && claims?.issuedAt != null ? (exp - claims.issuedAt) * 1000 : Infinity;
    const margin = Math.min(2000, lifetimeMs / 10);
    if (this.token && (exp == null || exp * 1000 - Date.now() > margin)) return this.token;
    return this.refresh();
  }

  /** Forget the cached token (the server refused it); the next get() fetches. */
  invalidate(): void {
    if (!this.options.fixed) this.token = null;
  }

  refresh(): Promise<string> {
    if (this.options.fixed) return Promise.resolve(this.options.fixed);
    this.pending ??= this.options
      .fetch()
      .then((token) => {
        this.pending = null;
        this.failures = 0;
        this.token = token;
        this.claimsValue = readTokenClaims(token);
        this.schedule();
        return token;
      })
      .catch((error: unknown) => {
        this.pending = null;
        throw error instanceof Error ? error : new Error(String(error));
      });
    return this.pending;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.destroyed || !this.claimsValue) return;
    const delay = refreshDelay(this.claimsValue, Date.now(), this.options.refreshRatio);
    if (delay === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().then(
        (token) => this.options.onRefreshed?.(token),
        (error: Error) => {
          this.options.onError?.(error);
          // Try again with backoff (2 s, 4 s, … 60 s); the server closes the connection only once
          // the old token expires, and reconnecting fetches again anyway.
          if (this.destroyed) return;
          const retryIn = Math.min(60_000, 2000 * 2 ** this.failures++);
          this.timer = setTimeout(() => this.schedule(), retryIn);
          (this.timer as { unref?: () => void }).unref?.();
        },
      );
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  destroy(): void {
    this.destroyed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The permissions a token grants for one room (patterns are an id or a prefix ending in "*"). */
export function permissionsFor(claims: Pick<TokenClaims, "permissions">, roomId: string): Set<string> {
  return permissionsForRoom(claims.permissions, roomId);
}
