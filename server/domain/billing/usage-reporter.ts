/**
 * The daily usage report to Stripe's meter: once per UTC day (checked hourly, so a process that
 * restarts often still reports), every subscribed organisation's monthly active users are sent
 * through BillingService.reportUsage. Its per-day identifiers make a second process, or a retry
 * after a failure, the same meter event to Stripe; a failed day is tried again at the next check.
 */
import type { Clock } from "../clock.ts";
import { logger } from "../../logger.ts";
import type { BillingService } from "./billing-service.ts";

const HOUR_MS = 3600 * 1000;

export interface UsageReporter {
  /** Report now if today's report has not succeeded yet; resolves when done. */
  tick(): Promise<void>;
  stop(): void;
}

/** Start the hourly check (an unref'd timer: it never keeps the process alive); stop() on shutdown. */
export function startUsageReporter(options: { billing: BillingService; clock: Clock; intervalMs?: number }): UsageReporter {
  let reportedDay: string | null = null;
  let running: Promise<void> | null = null;

  async function report(): Promise<void> {
    const now = options.clock();
    const day = now.toISOString().slice(0, 10);
    if (day === reportedDay) return;
    const { reported, failed } = await options.billing.reportAllUsage(now);
    if (failed === 0) reportedDay = day;
    logger.info("Usage reported to Stripe", { reported, failed, day });
  }

  const tick = (): Promise<void> =>
    (running ??= report()
      .catch((error: Error) => {
        logger.warn("The daily usage report failed", { error: error.message });
      })
      .finally(() => {
        running = null;
      }));

  const timer = setInterval(() => void tick(), options.intervalMs ?? HOUR_MS);
  timer.unref();
  return {
    tick,
    stop: () => clearInterval(timer),
  };
}
