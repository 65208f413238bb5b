/**
 * Throttling of what a client sends (presence, pointers): the first change goes out at once, later
 * ones at most once per interval, and the last change of a burst is always sent (trailing edge).
 * The timing decision is a pure function so it is unit-tested without clocks.
 */

/** Liveblocks' bounds: 16 ms (60 per second) to 1000 ms, 100 ms by default. */
export const MIN_THROTTLE_MS = 16;
export const MAX_THROTTLE_MS = 1000;
export const DEFAULT_THROTTLE_MS = 100;

export function clampThrottle(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms)) return DEFAULT_THROTTLE_MS;
  return Math.min(MAX_THROTTLE_MS, Math.max(MIN_THROTTLE_MS, Math.round(ms)));
}

/** How long to wait before sending, given when the last send happened (null: never). */
export function throttleDelay(lastSentAt: number | null, now: number, intervalMs: number): number {
  if (lastSentAt === null) return 0;
  const elapsed = now - lastSentAt;
  if (elapsed < 0) return intervalMs; // the clock went backwards: wait one full interval
  return Math.max(0, intervalMs - elapsed);
}

export interface Throttler {
  /** Ask for a flush; runs now or at the end of the current interval. */
  schedule(): void;
  /** Run a pending flush right away (leaving a room sends its last state). */
  flush(): void;
  cancel(): void;
}

export function createThrottler(run: () => void, intervalMs: number, now: () => number = Date.now): Throttler {
  let lastSentAt: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  function fire() {
    timer = null;
    lastSentAt = now();
    run();
  }

  return {
    schedule() {
      if (timer) return;
      const delay = throttleDelay(lastSentAt, now(), intervalMs);
      if (delay === 0) fire();
      else timer = setTimeout(fire, delay);
    },
    flush() {
      if (!timer) return;
      clearTimeout(timer);
      fire();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
