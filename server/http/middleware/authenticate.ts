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
 */
import type { Request, RequestHandler, Response } from "express";
import type { ApiActor, OrgAccess } from "../../auth/actor.ts";
import type { ActorResolver } from "../../auth/resolve-actor.ts";
import { sessionUserOf } from "../../auth/passport.ts";
import { BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from "../../errors.ts";
import type { OrgService, OrgView } from "../../domain/orgs/org-service.ts";
import { canActAs, canApiKey, canMember, type OrgAction } from "../../domain/orgs/policy.ts";

export interface AuthMiddleware {
  /** Sets res.locals.actor when credentials are present; rejects bad API keys. */
  authenticate: RequestHandler;
  /** 401 unless someone (user or API key) is authenticated. */
  requireActor: RequestHandler;
  /** 401 unless a signed-in user (session) is calling; API keys are refused with 403. */
  requireUser: RequestHandler;
  /** Resolve :org_id and check `action` against the policy tables. */
  requireOrgAccess(action: OrgAction): RequestHandler;
  /**
   * For a long-lived answer (an event stream) that passed requireOrgAccess: whether its caller may
   * still take `action` — its API key not revoked, the member not removed nor demoted below it.
   * Fails closed: an error answers false.
   */
  stillAllowed(req: Request, res: Response, action: OrgAction): Promise<boolean>;
}

export function createAuthMiddleware(deps: { actors: Pick<ActorResolver, "fromHttp">; orgs: OrgService }): AuthMiddleware {
  const authenticate: RequestHandler = async (req, res, next) => {
    const actor = await deps.actors.fromHttp({ authorization: req.get("authorization"), sessionUser: sessionUserOf(req) });
    if (actor) res.locals.actor = actor;
    next();
  };

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

  function requireOrgAccess(action: OrgAction): RequestHandler {
    return async (req, res, next) => {
      const actor = res.locals.actor as ApiActor | undefined;
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
