/**
 * Per-IP rate limit for the authentication endpoints (login, register, password reset): a
 * fixed budget per minute, in memory, or in Redis when configured so every process shares it.
 * Over budget → 429 rate_limited with Retry-After.
 */
import type { RequestHandler } from "express";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Redis } from "ioredis";
import { TooManyRequestsError } from "../../errors.ts";

export function createAuthRateLimit(options: { pointsPerMinute: number; redis: Redis | null; prefix: string }): RequestHandler {
  const limiter: RateLimiterAbstract = options.redis
    ? new RateLimiterRedis({
        storeClient: options.redis,
        points: options.pointsPerMinute,
        duration: 60,
        keyPrefix: `${options.prefix}:rl:auth`,
        // Redis down: fall back to a per-process budget rather than failing every login.
        insuranceLimiter: new RateLimiterMemory({ points: options.pointsPerMinute, duration: 60 }),
      })
    : new RateLimiterMemory({ points: options.pointsPerMinute, duration: 60 });
  return async (req, res, next) => {
    try {
      await limiter.consume(req.ip ?? "unknown");
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        res.setHeader("Retry-After", String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000))));
        throw new TooManyRequestsError("Too many attempts; try again later", "rate_limited");
      }
      throw rejection;
    }
    next();
  };
}
