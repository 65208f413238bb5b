/**
 * API keys of an organisation (Owners and Admins; API keys themselves may not manage keys). The
 * secret is in the create and rotate answers only.
 */
import { Router } from "express";
import { z } from "zod";
import type { ApiKeyService } from "../../domain/api-keys/api-key-service.ts";
import { actorOf, orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { actorId } from "../../auth/actor.ts";
import { parseInput } from "../validate.ts";

const createSchema = z.object({ name: z.string().trim().min(1).max(128) });

export function apiKeyRoutes({ apiKeys, auth }: { apiKeys: ApiKeyService; auth: AuthMiddleware }): Router {
  const router = Router();
  const base = "/organizations/:org_id/api-keys";

  router.post(base, auth.requireOrgAccess("api_keys:manage"), async (req, res) => {
    const { name } = parseInput(createSchema, req.body);
    res.status(201).json({ apiKey: await apiKeys.create(orgOf(res).id, name, actorId(actorOf(res))) });
  });

  router.get(base, auth.requireOrgAccess("api_keys:read"), async (_req, res) => {
    res.json({ data: await apiKeys.list(orgOf(res).id) });
  });

  router.get(`${base}/:id`, auth.requireOrgAccess("api_keys:read"), async (req, res) => {
    res.json({ apiKey: await apiKeys.get(orgOf(res).id, String(req.params.id)) });
  });

  router.delete(`${base}/:id`, auth.requireOrgAccess("api_keys:manage"), async (req, res) => {
    res.json({ apiKey: await apiKeys.revoke(orgOf(res).id, String(req.params.id)) });
  });

  router.post(`${base}/:id/rotate`, auth.requireOrgAccess("api_keys:manage"), async (req, res) => {
    res.json({ apiKey: await apiKeys.rotate(orgOf(res).id, String(req.params.id)) });
  });

  return router;
}
