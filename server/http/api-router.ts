/**
 * The JSON REST API under /api: sessions (database store, HTTP-only cookie), passport
 * (server/auth/passport.ts, mounted here), the caller's Actor (server/auth/resolve-actor.ts, through
 * middleware/authenticate.ts), and the routes of accounts, organisations, invitations, API keys,
 * access tokens and rooms.
 *
 * CSRF: the session cookie is SameSite=Lax, and every POST/PUT/PATCH must be
 * `Content-Type: application/json`, which a cross-site form or a no-cors fetch cannot send
 * without a CORS preflight. DELETE is never a "simple" request, so it is always preflighted.
 * Preflights succeed only for the ALLOWED_ORIGINS allow-list (middleware/cors.ts; none by default).
 */
import { Router, type RequestHandler } from "express";
import session from "express-session";
import { AppError } from "../errors.ts";
import type { AccountService } from "../domain/accounts/account-service.ts";
import type { OrgService } from "../domain/orgs/org-service.ts";
import type { InvitationService } from "../domain/orgs/invitation-service.ts";
import type { ApiKeyService } from "../domain/api-keys/api-key-service.ts";
import type { RoomService } from "../domain/rooms/room-service.ts";
import type { AccessTokens } from "../auth/access-token.ts";
import type { ActorResolver } from "../auth/resolve-actor.ts";
import type { Passport } from "../auth/passport.ts";
import type { Clock } from "../domain/clock.ts";
import type { DatabaseSessionStore } from "../auth/session-store.ts";
import { createAuthMiddleware, type AuthMiddleware } from "./middleware/authenticate.ts";
import { guardInput } from "./middleware/input-guard.ts";
import { createCors } from "./middleware/cors.ts";
import { authRoutes } from "./routes/auth.ts";
import { accountRoutes } from "./routes/account.ts";
import { orgDeletionRoutes } from "./routes/org-deletion.ts";
import { orgRoutes } from "./routes/orgs.ts";
import { invitationRoutes } from "./routes/invitations.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { accessTokenRoutes } from "./routes/access-tokens.ts";
import { roomRoutes } from "./routes/rooms.ts";

export const SESSION_COOKIE = "syncforge.sid";

export interface ApiRouterOptions {
  secret: string;
  secureCookies: boolean;
  /** Origins allowed to call /api from a browser, with credentials (ALLOWED_ORIGINS). */
  allowedOrigins: readonly string[];
  sessionTtlSeconds: number;
  sessionStore: DatabaseSessionStore;
  authRateLimit: RequestHandler;
  accounts: AccountService;
  orgs: OrgService;
  invitations: InvitationService;
  apiKeys: ApiKeyService;
  rooms: RoomService;
  tokens: AccessTokens;
  /** Credentials → Actor (server/auth), shared with the WebSocket edge. */
  actors: ActorResolver;
  /** Sessions and password login (server/auth/passport.ts). */
  passport: Passport;
  clock: Clock;
}

/**
 * Refuse mutating requests that are not JSON (415), see the CSRF note above. `PUT …/ydoc` may also
 * be `application/octet-stream` (a Yjs update, routes/room-documents.ts): not a type a form or a
 * no-cors fetch can send either, so it is preflighted too.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.method === "PUT" && req.path.endsWith("/ydoc") && req.is("application/octet-stream")) return next();
  if ((req.method === "POST" || req.method === "PUT" || req.method === "PATCH") && !req.is("application/json")) {
    throw new AppError("unsupported_media_type", "Send a JSON body with Content-Type: application/json", 415);
  }
  next();
};

export function createApiRouter(options: ApiRouterOptions): { router: Router; auth: AuthMiddleware } {
  const { accounts, orgs, apiKeys, rooms, passport } = options;
  const auth = createAuthMiddleware({ actors: options.actors, orgs, apiKeys });
  const router = Router();
  const corsHandler = createCors(options.allowedOrigins);
  if (corsHandler) router.use(corsHandler);
  router.use(requireJsonBody);
  router.use(guardInput);
  router.use(
    session({
      name: SESSION_COOKIE,
      secret: options.secret,
      store: options.sessionStore,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      cookie: {
        httpOnly: true,
        sameSite: "lax",
        secure: options.secureCookies,
        maxAge: options.sessionTtlSeconds * 1000,
        path: "/",
      },
    }),
  );
  router.use(passport.initialize());
  router.use(passport.session());
  router.use(auth.authenticate);
  router.use(authRoutes({ accounts, passport, auth, rateLimit: options.authRateLimit }));
  // The account page of the dashboard (issue 20): name, password, sessions.
  router.use(accountRoutes({ accounts, auth, rateLimit: options.authRateLimit }));
  router.use(orgRoutes({ orgs, invitations: options.invitations, auth }));
  router.use(invitationRoutes({ invitations: options.invitations, auth, rateLimit: options.authRateLimit }));
  router.use(apiKeyRoutes({ apiKeys, auth }));
  router.use(accessTokenRoutes({ tokens: options.tokens, rooms, accounts, auth, clock: options.clock }));
  router.use(roomRoutes({ rooms, auth }));
  // Deleting an organisation from the dashboard (issue 20).
  router.use(orgDeletionRoutes({ orgs, rooms, apiKeys, auth }));
  return { router, auth };
}
