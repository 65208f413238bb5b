/**
 * Retries of failed document stores, with backoff: 1 s, 2 s, 4 s, … at most 30 s.
 *
 * Hocuspocus keeps a document whose store failed in memory but never stores it again on its own,
 * and unloads it as soon as its last client leaves. The persistence extension reports each failed
 * and each successful store here; while a retry is pending it refuses the unload
 * (beforeUnloadDocument) and runs the retry at once when the last client leaves or at shutdown.
 * A retry is one ordinary store through Hocuspocus (its store hooks, its per-document ordering, its
 * unload after success), so it also replaces a debounced store that a new edit scheduled.
 *
 * An attempt that ends without a verdict (another process held the Redis store lock, so the
 * extension's onStoreDocument never ran) counts as failed: the next one is scheduled all the same.
 */
import type { Document, onStoreDocumentPayload } from "@hocuspocus/server";

/** Backoff before attempt `attempt + 1` after `attempt` failures: 1 s, 2 s, 4 s, … 30 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
}

export interface StoreRetriesOptions {
  /** Run one store of the document; resolves when it has finished, whatever its outcome. */
  store: (document: Document, payload: onStoreDocumentPayload) => Promise<unknown>;
  delayMs?: (failures: number) => number;
}

interface Retry {
  payload: onStoreDocumentPayload;
  failures: number;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
}

export class StoreRetries {
  private readonly options: StoreRetriesOptions;
  private readonly delayMs: (failures: number) => number;
  private readonly pending = new Map<Document, Retry>();
  private closed = false;

  constructor(options: StoreRetriesOptions) {
    this.options = options;
    this.delayMs = options.delayMs ?? retryDelayMs;
  }

  /** A store of the document failed: schedule the next attempt. Returns the number of failures. */
  failed(payload: onStoreDocumentPayload): number {
    let retry = this.pending.get(payload.document);
    if (!retry) {
      retry = { payload, failures: 0, timer: null, running: null };
      this.pending.set(payload.document, retry);
    }
    retry.payload = payload;
    if (retry.timer) clearTimeout(retry.timer);
    retry.timer = null;
    this.schedule(payload.document, retry);
    return retry.failures;
  }

  /** A store of the document succeeded (or it needs none any more): nothing left to retry. */
  settled(document: Document): void {
    const retry = this.pending.get(document);
    if (!retry) return;
    if (retry.timer) clearTimeout(retry.timer);
    this.pending.delete(document);
  }

  /** Whether a store of the document failed and has not succeeded since. */
  has(document: Document): boolean {
    return this.pending.has(document);
  }

  /** Run the pending retry of the document now, unless one is running. */
  runNow(document: Document): void {
    const retry = this.pending.get(document);
    if (retry) this.run(document, retry);
  }

  /** Run every pending retry now (shutdown). */
  runAll(): void {
    for (const [document, retry] of this.pending) this.run(document, retry);
  }

  /** Stop all timers; nothing is retried any more. */
  close(): void {
    this.closed = true;
    for (const retry of this.pending.values()) if (retry.timer) clearTimeout(retry.timer);
    this.pending.clear();
  }

  private schedule(document: Document, retry: Retry): void {
    if (this.closed) return;
    retry.failures += 1;
    retry.timer = setTimeout(() => this.run(document, retry), this.delayMs(retry.failures));
  }

  private run(document: Document, retry: Retry): void {
    if (retry.running || this.closed) return;
    if (retry.timer) clearTimeout(retry.timer);
    retry.timer = null;
    retry.running = this.options
      .store(document, retry.payload)
      .then(() => undefined, () => undefined)
      .finally(() => {
        retry.running = null;
        // Still pending and nothing scheduled: the attempt ended without a verdict.
        if (this.pending.get(document) === retry && !retry.timer) this.schedule(document, retry);
      });
  }
}
