/**
 * Time as a dependency. Services that compare against "now" (key rotation grace, token expiry)
 * take a Clock, so tests move time instead of sleeping.
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock tests can set and advance. */
export interface ManualClock {
  (): Date;
  set(date: Date): void;
  advance(ms: number): void;
}

export function createManualClock(start: Date = new Date()): ManualClock {
  let current = start.getTime();
  const clock = (() => new Date(current)) as ManualClock;
  clock.set = (date) => {
    current = date.getTime();
  };
  clock.advance = (ms) => {
    current += ms;
  };
  return clock;
}
