/**
 * What a benchmark is to the harness (scripts/bench/run.ts): a name, a one-line description and a
 * run() that returns tables to print and data to write to data/bench/<name>.json. `runInterleaved`
 * is the usual shape of a run: every configuration once per round, rounds repeated, the median of
 * each figure across rounds — interleaving spreads slow phases of a shared machine over all
 * configurations instead of penalising whichever ran during them.
 */
import type { Table } from "./table.ts";
import { medianOf } from "./stats.ts";

export interface BenchContext {
  /** One short run per configuration instead of three full ones. */
  quick: boolean;
  /** Rounds to run (3 by default, 1 with --quick). */
  rounds: number;
  /** `--servers`: keys of the server configurations to run (all when empty). */
  servers: string[];
  /** `--workloads`: keys of the workloads to run, for benchmarks that have several (all when empty). */
  workloads: string[];
  /** `--seconds`: the measuring window, instead of the benchmark's own (e.g. long enough to profile). */
  seconds?: number;
  /** Progress on stderr, so stdout carries only the tables. */
  log(message: string): void;
}

export interface BenchResult {
  tables: Table[];
  /** Everything worth keeping (per-run figures, parameters); written as JSON. */
  data: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(context: BenchContext): Promise<BenchResult>;
}

export type Figures = Record<string, number>;

export interface ConfigurationResult<F extends Figures> {
  key: string;
  label: string;
  runs: F[];
  median: F;
}

/**
 * Run `measure` for each configuration once per round, in the same order every round, and
 * summarise each configuration's figures with the median over rounds.
 */
export async function runInterleaved<C extends { key: string; label: string }, F extends Figures>(
  context: BenchContext,
  configurations: C[],
  measure: (configuration: C, round: number) => Promise<F>,
): Promise<ConfigurationResult<F>[]> {
  const runs = new Map<string, F[]>(configurations.map((c) => [c.key, []]));
  for (let round = 0; round < context.rounds; round += 1) {
    for (const configuration of configurations) {
      context.log(`round ${round + 1}/${context.rounds}: ${configuration.label}`);
      const figures = await measure(configuration, round);
      runs.get(configuration.key)!.push(figures);
    }
  }
  return configurations.map((c) => {
    const list = runs.get(c.key)!;
    return { key: c.key, label: c.label, runs: list, median: medianOf(list) };
  });
}
