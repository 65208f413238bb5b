/**
 * Who is calling, and what they may do in the organisation a route addresses.
 *
 * `authenticate` asks server/auth for the caller's Actor (resolve-actor.ts: an
 * `Authorization: Bearer sk_...` API key, where a bad one is a 401 and never a silent fallback to
 * the session, else the session cookie's member) and leaves it in `res.locals.actor`.
 * `requireOrgAccess(action)` then resolves `:org_id` and the caller's standing:
 *   - another org's id, an unknown id, or an org the user is not a member of → 404 org_not_found
 *     (existence is never revealed);
 *   - allowed by the policy tables in server/domain/orgs/policy.ts → next(), with
 *     `res.locals.org` (the organisation's OrgView) and `res.locals.orgAccess` ({ actor, role });
 *   - otherwise 403 forbidden.
 * Other areas reuse it: `router.get("/organizations/:org_id/x", auth.requireOrgAccess("rooms:read"), handler)`.
 * Routes that act as an end user (comments, inboxes) then call `actingUserOf(res, userId)`.
 *
 * An end user's access token (`Bearer <JWT>`) is kept apart in `res.locals.endUser`, never as
 * `res.locals.actor`, so no route accepts it unless it says so: `requireOrgAccess(action, { endUser })`
 * with "own_inbox" (the token's user only, through actingUserOf) or "room_comments" (the `:room_id`
 * the token grants comments:read or more). Another organisation's id is a 404, as for everyone; the
 * token's issuer must still be valid (a revoked API key or a removed member: 401 token_revoked).
 */
import type { Request, RequestHandler, Response } from "express";
import type { ApiActor, OrgAccess, TokenHolderActor } from "../../auth/actor.ts";
import type { ActorResolver } from "../../auth/resolve-actor.ts";
import { sessionUserOf } from "../../auth/passport.ts";
import { BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from "../../errors.ts";
import type { OrgService, OrgView } from "../../domain/orgs/org-service.ts";
import type { ApiKeyService } from "../../domain/api-keys/api-key-service.ts";
import { permissionsForRoom, roomAccess, type RoomAccess } from "../../../protocol/permissions.ts";
import type { TokenIssuer } from "../../auth/access-token.ts";
import { canActAs, canApiKey, canMember, canMemberGrant, type OrgAction } from "../../domain/orgs/policy.ts";

export interface AuthMiddleware {
  /** Sets res.locals.actor when credentials are present; rejects bad API keys. */
  authenticate: RequestHandler;
  /** 401 unless someone (user or API key) is authenticated. */
  requireActor: RequestHandler;
  /** 401 unless a signed-in user (session) is calling; API keys are refused with 403. */
  requireUser: RequestHandler;
  /** Resolve :org_id and check `action` against the policy tables (and `endUser` for access tokens). */
  requireOrgAccess(action: OrgAction, options?: { endUser?: EndUserScope }): RequestHandler;
  /**
   * For a long-lived answer (an event stream) that passed requireOrgAccess: whether its caller may
   * still take `action` — its API key not revoked, the member not removed nor demoted below it.
   * Fails closed: an error answers false.
   */
  stillAllowed(req: Request, res: Response, action: OrgAction): Promise<boolean>;
}

/** What an end user's access token may reach on a route that accepts one. */
export type EndUserScope = "own_inbox" | "room_comments";

export interface AuthMiddlewareDeps {
  actors: Pick<ActorResolver, "fromHttp">;
  orgs: OrgService;
  /** For access tokens' issuers (a revoked key's tokens are refused here too). */
  apiKeys?: Pick<ApiKeyService, "isActive">;
}

export function createAuthMiddleware(deps: AuthMiddlewareDeps): AuthMiddleware {
  const authenticate: RequestHandler = async (req, res, next) => {
    const actor = await deps.actors.fromHttp({ authorization: req.get("authorization"), sessionUser: sessionUserOf(req) });
    if (actor?.kind === "token_holder") res.locals.endUser = actor;
    else if (actor) res.locals.actor = actor;
    next();
  };

  async function admitEndUser(req: Request, res: Response, endUser: TokenHolderActor, scope: EndUserScope | undefined): Promise<void> {
    if (!scope) throw new ForbiddenError("An access token reads only its user's inbox and settings and its rooms' threads", "access_token_not_allowed");
    const orgId = String(req.params.org_id ?? "");
    if (endUser.orgId !== orgId) throw new NotFoundError("Organization not found", "org_not_found");
    const { issuer } = endUser;
    // As on WebSockets (authorize-connection.ts): a token without an issuer was minted with the
    // server secret by trusted code, and its organisation may not exist in this database.
    const org = await deps.orgs.find(orgId);
    if (!org && issuer) throw new NotFoundError("Organization not found", "org_not_found");
    // What the token grants here: the room's permissions, or nothing beyond its user for the inbox.
    const access = roomAccess(scope === "room_comments" ? permissionsForRoom(endUser.permissions, String(req.params.room_id ?? "")) : new Set());
    if (issuer && !(await issuerStillGrants(orgId, issuer, endUser.userId, access))) {
      throw new UnauthorizedError("The key or member that issued this token may no longer grant it", "token_revoked");
    }
    if (scope === "room_comments" && !access.canReadComments) throw new ForbiddenError("The token does not grant this room's comments", "room_not_granted");
    if (org) res.locals.org = org;
  }

  /** As authorize-connection.ts checks on WebSockets: the key is active, the member may still mint it. */
  async function issuerStillGrants(orgId: string, issuer: TokenIssuer, userId: string, access: RoomAccess): Promise<boolean> {
    if (issuer.kind === "api_key") return (await deps.apiKeys?.isActive(issuer.id, orgId)) ?? false;
    const role = await deps.orgs.roleOf(orgId, issuer.id);
    return role !== null && canMemberGrant(role, issuer.id, userId, access);
  }

  const requireActor: RequestHandler = (_req, res, next) => {
    if (!res.locals.actor) throw new UnauthorizedError();
    next();
  };

  const requireUser: RequestHandler = (_req, res, next) => {
    const actor = res.locals.actor as ApiActor | undefined;
    if (!actor) throw new UnauthorizedError();
    if (actor.kind !== "user") throw new ForbiddenError("This endpoint needs a signed-in user, not an API key", "user_required");
    next();
  };

  function requireOrgAccess(action: OrgAction, options: { endUser?: EndUserScope } = {}): RequestHandler {
    return async (req, res, next) => {
      const actor = res.locals.actor as ApiActor | undefined;
      const endUser = res.locals.endUser as TokenHolderActor | undefined;
      if (!actor && endUser) {
        await admitEndUser(req, res, endUser, options.endUser);
        return next();
      }
      if (!actor) throw new UnauthorizedError();
      const orgId = String(req.params.org_id ?? "");
      const notFound = new NotFoundError("Organization not found", "org_not_found");
      if (actor.kind === "api_key") {
        if (actor.orgId !== orgId) throw notFound;
        const org = await deps.orgs.find(orgId);
        if (!org) throw notFound;
        if (!canApiKey(action)) throw new ForbiddenError("API keys may not do this; sign in as an Owner or Admin", "forbidden");
        setAccess(res, org, { actor, role: null });
        return next();
      }
      const role = await deps.orgs.roleOf(orgId, actor.userId);
      const org = role ? await deps.orgs.find(orgId) : null;
      if (!role || !org) throw notFound;
      if (!canMember(role, action)) throw new ForbiddenError(`The ${role} role may not do this`, "forbidden");
      setAccess(res, org, { actor, role });
      next();
    };
  }

  async function stillAllowed(req: Request, res: Response, action: OrgAction): Promise<boolean> {
    const access = orgAccessOf(res);
    const orgId = orgOf(res).id;
    try {
      if (access.actor.kind === "api_key") {
        const actor = await deps.actors.fromHttp({ authorization: req.get("authorization"), sessionUser: undefined });
        return actor?.kind === "api_key" && actor.apiKeyId === access.actor.apiKeyId && actor.orgId === orgId && canApiKey(action);
      }
      const role = await deps.orgs.roleOf(orgId, access.actor.userId);
      return role !== null && canMember(role, action);
    } catch {
      return false;
    }
  }

  return { authenticate, requireActor, requireUser, requireOrgAccess, stillAllowed };
}

function setAccess(res: Response, org: OrgView, access: OrgAccess): void {
  res.locals.org = org;
  res.locals.orgAccess = access;
}

/** The end user whose access token admitted this request (requireOrgAccess's endUser), if any. */
export function endUserOf(res: Response): TokenHolderActor | null {
  return res.locals.actor ? null : ((res.locals.endUser as TokenHolderActor | undefined) ?? null);
}

/** Typed readers for what the middleware left in res.locals. */
export function actorOf(res: Response): ApiActor {
  const actor = res.locals.actor as ApiActor | undefined;
  if (!actor) throw new UnauthorizedError();
  return actor;
}

export function orgOf(res: Response): OrgView {
  return res.locals.org as OrgView;
}

export function orgAccessOf(res: Response): OrgAccess {
  return res.locals.orgAccess as OrgAccess;
}

/**
 * The end user a request acts as: `requested` (a body `userId` or a `:user_id`), or the signed-in
 * member when it is left out. One rule for every route (canActAs): a Member or Viewer never names
 * someone else, so a dashboard session cannot write or read as another user.
 */
export function actingUserOf(res: Response, requested: string | undefined): string {
  const endUser = res.locals.endUser as TokenHolderActor | undefined;
  if (endUser && !res.locals.actor) {
    if (requested !== undefined && requested !== endUser.userId) {
      throw new ForbiddenError("An access token acts only as its own user", "impersonation_forbidden");
    }
    return endUser.userId;
  }
  const access = orgAccessOf(res);
  const userId = requested ?? (access.actor.kind === "user" ? access.actor.userId : undefined);
  if (userId === undefined) {
    throw new BadRequestError("Request body is invalid", "validation_failed", [
      { path: "userId", message: "required with an API key: the end user to act as" },
    ]);
  }
  if (!canActAs(access, userId)) {
    throw new ForbiddenError(`The ${access.role ?? "caller"} role acts only as the signed-in user: leave userId out or give your own id`, "impersonation_forbidden");
  }
  return userId;
}
