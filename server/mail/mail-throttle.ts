/**
 * A budget per recipient for the mails anyone can make the server send (verification, password
 * reset, "you already have an account", invitations): at most MAIL_RATE_LIMIT of one kind per
 * address per hour, so the per-IP limit, spread over many IPs, cannot turn the server into a
 * mail bomb against one inbox. Kept in Redis when configured (every process shares it), in
 * memory otherwise. Keys hold a hash of the address, never the address itself.
 */
import { createHash } from "node:crypto";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { Redis } from "ioredis";

export type MailKind = "verify_email" | "reset_password" | "account_exists" | "invitation";

export interface MailThrottleDecision {
  allowed: boolean;
  /** When the address may be sent this kind of mail again (0 when allowed). */
  retryAfterMs: number;
}

export interface MailThrottle {
  /** Count one mail of `kind` to `address`; `allowed: false` means do not send it. */
  take(kind: MailKind, address: string): Promise<MailThrottleDecision>;
}

export interface MailThrottleOptions {
  perHour: number;
  redis: Redis | null;
  prefix: string;
}

const HOUR_SECONDS = 3600;

export function createMailThrottle(options: MailThrottleOptions): MailThrottle {
  const memory = () => new RateLimiterMemory({ points: options.perHour, duration: HOUR_SECONDS });
  const limiter: RateLimiterAbstract = options.redis
    ? new RateLimiterRedis({
        storeClient: options.redis,
        points: options.perHour,
        duration: HOUR_SECONDS,
        keyPrefix: `${options.prefix}:rl:mail`,
        // Redis down: a per-process budget still bounds the mail, rather than refusing it all.
        insuranceLimiter: memory(),
      })
    : memory();
  return {
    async take(kind, address) {
      const key = `${kind}:${createHash("sha256").update(address.trim().toLowerCase()).digest("hex")}`;
      try {
        await limiter.consume(key);
        return { allowed: true, retryAfterMs: 0 };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfterMs: rejection.msBeforeNext };
        throw rejection;
      }
    },
  };
}
