/**
 * A clock for pure tests of code that owns timers (client/core/fsm.ts `Clock`): nothing fires until
 * `tick` moves time forward, so a test states exactly how long it waited.
 */
import type { Clock } from "../../client/core/fsm.ts";

export interface FakeClock extends Clock {
  /** Move time forward, firing every timer due by then in order. */
  tick(ms: number): void;
  /** Timers set and not yet fired or cleared. */
  pending(): number;
  now(): number;
}

export function createFakeClock(): FakeClock {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    tick(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
    pending: () => timers.size,
    now: () => now,
  };
}
