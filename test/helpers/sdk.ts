/**
 * Helpers for SDK tests: the app's own backend (a tiny HTTP endpoint that mints access tokens the
 * way an app's server would, for a user named in the query string), and SDK clients that are
 * cleaned up after each test.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AccessTokens, type RoomPermissions, type UserInfo } from "../../server/auth/access-token.ts";
import { TEST_SECRET } from "./server.ts";

export interface AuthBackend {
  url(userId: string): string;
  /** Tokens issued so far, per user. */
  issued(userId: string): number;
  close(): Promise<void>;
}

export interface AuthBackendOptions {
  ttlSeconds?: number;
  orgId?: string;
  permissions?: RoomPermissions;
  users?: Record<string, UserInfo>;
}

/** POST /auth?user=ID with { room } (or {} for the inbox) → { token }, as an app's backend answers the SDK. */
export async function startAuthBackend(options: AuthBackendOptions = {}): Promise<AuthBackend> {
  const tokens = new AccessTokens(TEST_SECRET, options.ttlSeconds ?? 3600);
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const userId = url.searchParams.get("user") ?? "anonymous";
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", async () => {
      const { room } = JSON.parse(body || "{}") as { room?: string };
      if (req.method !== "POST") {
        res.writeHead(400).end();
        return;
      }
      // No room: the SDK's inbox asks for the user's token (any room's will do).
      counts.set(userId, (counts.get(userId) ?? 0) + 1);
      const { token } = await tokens.sign({
        userId,
        orgId: options.orgId ?? "org-sdk",
        permissions: options.permissions ?? { [room ?? "*"]: ["room:write"] },
        userInfo: options.users?.[userId] ?? { name: userId },
      });
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (userId) => `http://127.0.0.1:${port}/auth?user=${encodeURIComponent(userId)}`,
    issued: (userId) => counts.get(userId) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Fast reconnection for tests (the defaults start at one second and grow). */
export const FAST_RECONNECT = { delay: 100, minDelay: 100, maxDelay: 500, factor: 2, jitter: true } as const;
