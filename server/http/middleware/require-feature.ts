/**
 * Plan features on REST (docs/billing.md): after the route's org access check (so another
 * tenant's id is still a 404 and a missing right a 403 forbidden), a route whose feature the
 * organisation's plan lacks answers 403 feature_not_in_plan.
 */
import type { RequestHandler } from "express";
import type { Feature } from "../../domain/billing/plans.ts";

export interface FeatureCheck {
  assertFeature(orgId: string, feature: Feature): Promise<void>;
}

/** `access` (auth.requireOrgAccess(...)) then the feature check, as one handler; no check without `features`. */
export function withFeature(access: RequestHandler, features: FeatureCheck | undefined, feature: Feature): RequestHandler {
  if (!features) return access;
  return (req, res, next) => {
    const afterAccess = (error?: unknown) => {
      if (error) return next(error);
      features.assertFeature(String(req.params.org_id ?? ""), feature).then(() => next(), next);
    };
    Promise.resolve(access(req, res, afterAccess)).catch(next);
  };
}
