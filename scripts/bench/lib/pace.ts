/**
 * A writer's clock for the benchmarks: call `tick` every `intervalMs`, the first at `phaseMs`
 * (writers start at random phases, as real users are not synchronised). A late timer skips the
 * slots it missed instead of bursting to catch up. Returns a stop function.
 */
export function startPaced(intervalMs: number, phaseMs: number, tick: () => void): () => void {
  const origin = performance.now() + phaseMs;
  let slot = 0;
  let stopped = false;
  let timer: NodeJS.Timeout;
  const run = () => {
    if (stopped) return;
    tick();
    // The next slot strictly in the future.
    slot = Math.max(slot + 1, Math.floor((performance.now() - origin) / intervalMs) + 1);
    timer = setTimeout(run, Math.max(0, origin + slot * intervalMs - performance.now()));
  };
  timer = setTimeout(run, phaseMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
