/**
 * GET /metrics: Prometheus text exposition of this process's registry (server/metrics.ts).
 * Meant for a scraper on the private network; put it behind the proxy's access rules in production.
 */
import { Router } from "express";
import type { Registry } from "prom-client";

export function metricsRoutes(registry: Registry): Router {
  const router = Router();
  router.get("/metrics", async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
