/**
 * GET /health: 200 when the database (and Redis, when configured) answer, 503 otherwise.
 */
import { Router } from "express";

export interface HealthChecks {
  database: () => Promise<boolean>;
  redis: (() => Promise<boolean>) | null;
  stats: () => Record<string, number>;
}

export function healthRoutes(checks: HealthChecks): Router {
  const router = Router();
  router.get("/health", async (_req, res) => {
    const [database, redis] = await Promise.all([
      checks.database(),
      checks.redis ? checks.redis() : Promise.resolve(null),
    ]);
    const healthy = database && redis !== false;
    res.status(healthy ? 200 : 503).json({
      status: healthy ? "ok" : "unavailable",
      database: database ? "up" : "down",
      redis: redis === null ? "disabled" : redis ? "up" : "down",
      ...checks.stats(),
    });
  });
  return router;
}
