/**
 * Group commit for the update log. Every append made in one event-loop turn (across all rooms)
 * goes to the database as one INSERT; appends made while that INSERT is in flight form the next
 * one. The database is hit once per turn, not once per keystroke, and each caller learns when its
 * update is durable.
 *
 * Appends are numbered in order (`appended`), and `durable` is the highest number up to which every
 * append has committed: whoever must not let anything out before it is durable (the realtime edge,
 * server/realtime/durable-outbound.ts) compares the two and is told of every commit. A batch that
 * fails is retried with backoff, in place, until it commits: the updates it carries may already be
 * applied in memory, so dropping them would leave the log short of what clients will be told is
 * saved. Nothing after it commits first, so `durable` never skips an update.
 */
import type { DocumentStore } from "./document-store.ts";
import { logger } from "../../logger.ts";

interface Pending {
  documentName: string;
  data: Uint8Array;
  seq: number;
  resolve: (id: number) => void;
}

/**
 * Rows per INSERT. Large: while one INSERT is in flight, the next turn's appends wait, so the log
 * keeps up only if a batch takes in everything that arrived during a commit (3,000 updates/s and a
 * 200 ms commit on a loaded machine are 600 rows).
 */
const MAX_BATCH = 5000;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

export interface UpdateLogOptions {
  /** Delay before retry number `failures` of a failed batch (default 50 ms, doubling, at most 2 s). */
  retryDelayMs?: (failures: number) => number;
  /** Rows per INSERT (default MAX_BATCH). */
  maxBatch?: number;
}

export class UpdateLog {
  private readonly store: DocumentStore;
  private readonly retryDelayMs: (failures: number) => number;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;
  private readonly committedListeners: Array<(durable: number) => void> = [];
  /** whenDurable callers, in the order of the numbers they wait for. */
  private durableWaiters: Array<{ seq: number; resolve: () => void }> = [];
  private closed = false;
  private wakeRetry: (() => void) | null = null;
  /** Number of the latest append; 0 before the first. */
  appended = 0;
  /** Every append numbered up to this one has committed. */
  durable = 0;
  /** Consecutive failures of the batch at the head of the queue (0 when the log is healthy). */
  failures = 0;
  /** Counters for metrics: batches written and updates in them. */
  stats = { batches: 0, updates: 0 };

  constructor(store: DocumentStore, options: UpdateLogOptions = {}) {
    this.store = store;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.retryDelayMs = options.retryDelayMs ?? ((failures) => Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failures - 1)));
  }

  /**
   * Queue `data` for the next commit; resolves with its row id once it is durable. Its number is
   * `appended` right after the call. Never rejects: a failed commit is retried until it succeeds.
   */
  append(documentName: string, data: Uint8Array): Promise<number> {
    return new Promise<number>((resolve) => {
      this.appended += 1;
      this.queue.push({ documentName, data, seq: this.appended, resolve });
      this.schedule();
    });
  }

  /** Called after every commit with the new `durable`. */
  onCommitted(listener: (durable: number) => void): void {
    this.committedListeners.push(listener);
  }

  /** Resolves once every append numbered up to `seq` (default: every append so far) has committed. */
  whenDurable(seq = this.appended): Promise<void> {
    if (seq <= this.durable) return Promise.resolve();
    return new Promise((resolve) => this.durableWaiters.push({ seq, resolve }));
  }

  /** Resolves once everything appended so far is committed (or the log is closed). */
  async drain(): Promise<void> {
    while ((this.queue.length > 0 && !this.closed) || this.flushing || this.scheduled) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Stop retrying (shutdown): what has not committed by now is left to the documents' final stores. */
  close(): void {
    this.closed = true;
    this.wakeRetry?.();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length > 0 && !this.closed) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const batch = this.queue.slice(0, this.maxBatch);
      let ids: number[];
      try {
        ids = await this.store.append(batch);
      } catch (error) {
        this.failures += 1;
        const delay = this.retryDelayMs(this.failures);
        logger.warn("Could not commit document updates to the update log; retrying, and nothing waiting on them is sent until they commit", {
          updates: batch.length,
          attempt: this.failures,
          retryInMs: delay,
          error: (error as Error).message,
        });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = null;
        continue;
      }
      if (this.failures > 0) logger.info("The update log commits again", { afterFailures: this.failures });
      this.failures = 0;
      this.queue.splice(0, batch.length);
      this.stats.batches += 1;
      this.stats.updates += batch.length;
      this.durable = batch[batch.length - 1]!.seq;
      batch.forEach((p, i) => p.resolve(ids[i]!));
      for (const listener of this.committedListeners) listener(this.durable);
      let ready = 0;
      while (ready < this.durableWaiters.length && this.durableWaiters[ready]!.seq <= this.durable) ready += 1;
      if (ready > 0) for (const waiter of this.durableWaiters.splice(0, ready)) waiter.resolve();
    }
  }
}
