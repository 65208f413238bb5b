/**
 * Small statistics for benchmark samples: nearest-rank percentiles and the median of runs.
 */

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Median of the finite values; NaN when there are none. Used to summarise repeated runs. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = Math.floor(finite.length / 2);
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

/** Summarise a list of per-run records field by field with the median. */
export function medianOf<T extends Record<string, number>>(runs: readonly T[]): T {
  const out: Record<string, number> = {};
  const keys = new Set(runs.flatMap((r) => Object.keys(r)));
  for (const key of keys) out[key] = median(runs.map((r) => r[key] ?? Number.NaN));
  return out as T;
}
