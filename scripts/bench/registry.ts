/**
 * Every benchmark `npm run bench` knows, in the order it runs them. A benchmark is a module whose
 * default export is a `Benchmark` (lib/benchmark.ts); register it with one line below. Modules
 * are loaded only when selected, so `--only` does not pay for the others' imports.
 */
import type { Benchmark } from "./lib/benchmark.ts";

export interface Registration {
  name: string;
  load: () => Promise<{ default: Benchmark }>;
}

export const registry: Registration[] = [
  { name: "typing", load: () => import("./typing.ts") },
  { name: "throughput", load: () => import("./throughput.ts") },
  { name: "comment-auth", load: () => import("./comment-auth.ts") },
  { name: "awareness", load: () => import("./awareness.ts") },
  { name: "idle", load: () => import("./idle.ts") },
  { name: "join", load: () => import("./join.ts") },
  { name: "connections", load: () => import("./connections.ts") },
  { name: "idle-memory", load: () => import("./idle-memory.ts") },
  { name: "webhooks", load: () => import("./webhooks.ts") },
];
