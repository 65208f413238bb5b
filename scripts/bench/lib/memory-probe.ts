/**
 * A preload for servers under test (node --import, with --expose-gc): on SIGWINCH the server runs
 * a full garbage collection and prints one line, `memory-probe {"rss":…,"heapUsed":…,…}`
 * (process.memoryUsage() after the collection), which lib/memory.ts reads from its output. The same
 * probe in every server, SyncForge and the bare baselines alike, so none needs an endpoint of its
 * own and what is measured is what the process holds, not garbage a collection had yet to reclaim.
 *
 * SIGWINCH because nothing else uses it in a server without a terminal: SIGUSR1 starts the
 * inspector and SIGUSR2 is --heapsnapshot-signal's.
 */
import path from "node:path";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

const collect = (globalThis as { gc?: () => void }).gc;
/** MEMORY_PROBE_SNAPSHOT_DIR: also write a heap snapshot there after each report (for a breakdown, not for figures). */
const snapshotDir = process.env.MEMORY_PROBE_SNAPSHOT_DIR;
let probes = 0;

process.on("SIGWINCH", () => {
  // Twice: the first collection's finalizers (ws, zlib, Yjs observers) free more for the second.
  collect?.();
  collect?.();
  const usage = process.memoryUsage();
  // Committed bytes per V8 space: where RSS beyond the heap in use is kept (a grown young generation).
  const spaces = Object.fromEntries(getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, s.physical_space_size]));
  process.stdout.write(`memory-probe ${JSON.stringify({ ...usage, spaces, collected: collect !== undefined })}\n`);
  probes += 1;
  if (!snapshotDir) return;
  const file = writeHeapSnapshot(path.join(snapshotDir, `probe-${process.pid}-${probes}.heapsnapshot`));
  process.stdout.write(`memory-probe-snapshot ${JSON.stringify({ file })}\n`);
});
