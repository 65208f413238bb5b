/**
 * An organisation's usage against its plan (docs/api.md "Usage", docs/billing.md): members who may
 * read the organisation and its API keys. `granularity=hour` reaches 48 hours back, `day` 90 days.
 */
import { Router } from "express";
import { z } from "zod";
import type { UsageService } from "../../domain/usage/usage-service.ts";
import { parseInput } from "../validate.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

const querySchema = z
  .object({
    granularity: z.enum(["hour", "day"]).default("day"),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export function usageRoutes({ usage, auth }: { usage: UsageService; auth: AuthMiddleware }): Router {
  const router = Router();
  router.get("/organizations/:org_id/usage", auth.requireOrgAccess("org:read"), async (req, res) => {
    const q = parseInput(querySchema, req.query, "Query");
    const report = await usage.report(orgOf(res).id, {
      granularity: q.granularity,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
    });
    res.json(report);
  });
  return router;
}
