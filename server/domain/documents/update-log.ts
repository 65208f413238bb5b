/**
 * Group commit for the update log. Every append made in one event-loop turn (across all rooms)
 * goes to the database as one INSERT, sent at the end of the turn even while earlier turns' INSERTs
 * are still in flight (up to `maxInFlight`): an update waits for one round trip, not for the one
 * before it too. The database is hit once per turn, not once per keystroke, and each caller learns
 * when its update is durable.
 *
 * Appends are numbered in order (`appended`), and `durable` is the highest number up to which every
 * append has committed: whoever must not let anything out before it is durable (the realtime edge,
 * server/realtime/durable-outbound.ts) compares the two and is told of every commit. A batch that
 * fails is retried with backoff until it commits: the updates it carries may already be applied in
 * memory, so dropping them would leave the log short of what clients will be told is saved. Batches
 * may commit out of order; `durable` only moves over the committed prefix, so it never skips an
 * update (rows of a later batch can be in the database before an earlier one's: Yjs applies them in
 * any order, and none of them was acknowledged before everything before it committed).
 */
import type { DocumentStore } from "./document-store.ts";
import { logger } from "../../logger.ts";

interface Pending {
  documentName: string;
  data: Uint8Array;
  seq: number;
  resolve: (id: number) => void;
}

interface Batch {
  entries: Pending[];
  ids: number[] | null;
}

/**
 * Rows per INSERT. Large: a batch takes in everything that arrived during a turn, and a turn can be
 * long on a busy server (3,000 updates/s and a 200 ms stall are 600 rows).
 */
const MAX_BATCH = 5000;
/** INSERTs in flight at once (the PostgreSQL driver keeps that many connections for them). */
export const MAX_IN_FLIGHT = 4;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

export interface UpdateLogOptions {
  /** Delay before retry number `failures` of a failed batch (default 50 ms, doubling, at most 2 s). */
  retryDelayMs?: (failures: number) => number;
  /** Rows per INSERT (default MAX_BATCH). */
  maxBatch?: number;
  /** INSERTs in flight at once (default MAX_IN_FLIGHT). */
  maxInFlight?: number;
}

export class UpdateLog {
  private readonly store: DocumentStore;
  private readonly retryDelayMs: (failures: number) => number;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  /** Appends not sent yet. */
  private queue: Pending[] = [];
  /** Batches sent, in order; the committed ones at the front leave as `durable` moves over them. */
  private inFlight: Batch[] = [];
  private scheduled = false;
  private readonly committedListeners: Array<(durable: number) => void> = [];
  /** whenDurable callers, in the order of the numbers they wait for. */
  private durableWaiters: Array<{ seq: number; resolve: () => void }> = [];
  private closed = false;
  private readonly retryWakers = new Set<() => void>();
  /** Number of the latest append; 0 before the first. */
  appended = 0;
  /** Every append numbered up to this one has committed. */
  durable = 0;
  /** Consecutive failed commits (0 when the log is healthy). */
  failures = 0;
  /** Counters for metrics: batches written and updates in them. */
  stats = { batches: 0, updates: 0 };

  constructor(store: DocumentStore, options: UpdateLogOptions = {}) {
    this.store = store;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
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

  /** Called after every commit that moves `durable`, with the new `durable`. */
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
    const target = this.appended;
    while (!this.closed && this.durable < target) await this.whenDurable(target);
  }

  /** Stop retrying (shutdown): what has not committed by now is left to the documents' final stores. */
  close(): void {
    this.closed = true;
    for (const wake of this.retryWakers) wake();
    // Whoever drains stops waiting: nothing more will commit.
    for (const waiter of this.durableWaiters.splice(0)) waiter.resolve();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  /** Send what is queued, a batch per free slot; nothing new while a batch is failing. */
  private send(): void {
    while (this.queue.length > 0 && this.inFlight.length < this.maxInFlight && this.failures === 0 && !this.closed) {
      const batch: Batch = { entries: this.queue.splice(0, this.maxBatch), ids: null };
      this.inFlight.push(batch);
      void this.commit(batch);
    }
  }

  private async commit(batch: Batch): Promise<void> {
    for (;;) {
      try {
        batch.ids = await this.store.append(batch.entries);
        break;
      } catch (error) {
        if (this.closed) return;
        this.failures += 1;
        const delay = this.retryDelayMs(this.failures);
        logger.warn("Could not commit document updates to the update log; retrying, and nothing waiting on them is sent until they commit", {
          updates: batch.entries.length,
          attempt: this.failures,
          retryInMs: delay,
          error: (error as Error).message,
        });
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.retryWakers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, delay);
          this.retryWakers.add(wake);
        });
        if (this.closed) return;
      }
    }
    if (this.failures > 0) logger.info("The update log commits again", { afterFailures: this.failures });
    this.failures = 0;
    this.stats.batches += 1;
    this.stats.updates += batch.entries.length;
    this.advance();
    if (this.queue.length > 0) this.schedule();
  }

  /** Move `durable` over the committed batches at the front, in order, and tell who waits. */
  private advance(): void {
    let moved = false;
    while (this.inFlight.length > 0 && this.inFlight[0]!.ids !== null) {
      const batch = this.inFlight.shift()!;
      const ids = batch.ids!;
      this.durable = batch.entries[batch.entries.length - 1]!.seq;
      batch.entries.forEach((p, i) => p.resolve(ids[i]!));
      moved = true;
    }
    if (!moved) return;
    for (const listener of this.committedListeners) listener(this.durable);
    let ready = 0;
    while (ready < this.durableWaiters.length && this.durableWaiters[ready]!.seq <= this.durable) ready += 1;
    if (ready > 0) for (const waiter of this.durableWaiters.splice(0, ready)) waiter.resolve();
  }
}
