/**
 * Sequelize on SQLite with one writer per process.
 *
 * SQLite has one write lock per file. In WAL mode a deferred transaction that reads and then writes
 * fails with SQLITE_BUSY at once, without calling the busy handler, when another connection
 * committed in between (its snapshot is stale); so every transaction here is BEGIN IMMEDIATE
 * (`transactionType`, set in db/index.ts), which takes the lock up front and waits for it.
 *
 * Waiting is the second trap: sqlite3 runs every statement in libuv's thread pool (4 threads), and
 * a statement waiting for the lock sleeps in its thread, holding its connection. A few writers
 * waiting at once occupy every thread while the lock's holder needs one to commit, and all of
 * them stall until the busy timeout. So this process never makes SQLite wait for itself: every
 * transaction (for its whole duration) and every write outside a transaction takes a turn at one
 * in-process writer queue first. Reads outside transactions run freely (WAL readers never wait).
 * The busy timeout is left for other processes on the same file (the migration CLI).
 *
 * This is a subclass over Sequelize's public `transaction()` and `query()`: Sequelize's own
 * transactions (findOrCreate) and every model write go through them too, so future code is
 * covered without knowing about it.
 */
import { QueryTypes, Sequelize, type QueryOptions, type Transaction, type TransactionOptions } from "sequelize";
import { BUSY_TIMEOUT_MS } from "./sqlite.ts";

/** How long a write waits for its turn: as long as SQLite waits for another process' lock. */
export const WRITE_TURN_TIMEOUT_MS = BUSY_TIMEOUT_MS;

const READ_TYPES: ReadonlySet<string> = new Set([
  QueryTypes.SELECT,
  QueryTypes.SHOWTABLES,
  QueryTypes.SHOWINDEXES,
  QueryTypes.DESCRIBE,
  QueryTypes.FOREIGNKEYS,
  QueryTypes.VERSION,
]);

/**
 * Urgent turns granted in a row before a waiting ordinary one gets its turn: the update log keeps
 * several appends in flight under load, and without a bound compactions and activity writes waited
 * out their timeout behind it.
 */
const MAX_URGENT_STREAK = 4;

/** A FIFO lock with a timeout: the turn to write. */
export class WriterQueue {
  private held = false;
  /** Waiting turns in order: the first `urgentWaiting` of them urgent. */
  private readonly waiting: Array<() => void> = [];
  private urgentWaiting = 0;
  /** Urgent turns granted in a row while ordinary ones waited (bounded by MAX_URGENT_STREAK). */
  private urgentStreak = 0;
  private readonly timeoutMs: number;

  constructor(timeoutMs = WRITE_TURN_TIMEOUT_MS) {
    this.timeoutMs = timeoutMs;
  }

  /**
   * Resolves with the function that ends the turn (call it once; later calls do nothing). An
   * `urgent` turn goes before every waiting ordinary one (after earlier urgent ones): the update
   * log's commits, which every client's acknowledgement waits for, must not queue behind a burst of
   * compactions and activity writes.
   */
  acquire(urgent = false): Promise<() => void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const grant = () => {
        if (timer) clearTimeout(timer);
        this.held = true;
        let done = false;
        resolve(() => {
          if (done) return;
          done = true;
          this.release();
        });
      };
      if (!this.held) return grant();
      if (urgent) this.waiting.splice(this.urgentWaiting++, 0, grant);
      else this.waiting.push(grant);
      timer = setTimeout(() => {
        const at = this.waiting.indexOf(grant);
        if (at !== -1) {
          this.waiting.splice(at, 1);
          if (at < this.urgentWaiting) this.urgentWaiting -= 1;
        }
        reject(new Error(`SQLITE_BUSY: no turn to write within ${this.timeoutMs} ms (this process writes to SQLite one transaction at a time)`));
      }, this.timeoutMs);
    });
  }

  async run<T>(fn: () => Promise<T>, urgent = false): Promise<T> {
    const release = await this.acquire(urgent);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private release(): void {
    let next: (() => void) | undefined;
    const ordinaryWaiting = this.waiting.length > this.urgentWaiting;
    if (this.urgentWaiting > 0 && !(ordinaryWaiting && this.urgentStreak >= MAX_URGENT_STREAK)) {
      next = this.waiting.shift();
      this.urgentWaiting -= 1;
      this.urgentStreak += 1;
    } else {
      // The first ordinary turn (or none waits urgently): urgent turns must not starve the rest.
      next = this.waiting.splice(this.urgentWaiting, 1)[0];
      this.urgentStreak = 0;
    }
    if (next) next();
    else this.held = false;
  }
}

type AutoCallback<T> = (t: Transaction) => PromiseLike<T>;

/** Sequelize for SQLite: transactions and writes take turns (see the file comment). */
export class SqliteSequelize extends Sequelize {
  readonly writer = new WriterQueue();

  /**
   * A managed transaction (with a callback) holds the turn until it has committed or rolled back. An
   * unmanaged one (the caller commits; Sequelize's findOrCreate) holds it until BEGIN IMMEDIATE has
   * taken the write lock: Sequelize tells nobody when it ends, so prefer managed transactions.
   * A savepoint (`options.transaction` set) runs inside its parent's turn.
   */
  override async transaction(...args: [TransactionOptions | AutoCallback<unknown> | undefined, AutoCallback<unknown>?]): Promise<any> {
    const [first, second] = args;
    const options = typeof first === "function" ? undefined : first;
    const callback = typeof first === "function" ? first : second;
    if (options?.transaction) return callback ? super.transaction(options, callback) : super.transaction(options);
    const release = await this.writer.acquire();
    try {
      if (!callback) return await super.transaction(options);
      return await super.transaction(options ?? {}, callback);
    } finally {
      release();
    }
  }

  /** A statement outside any transaction that may write takes a turn; reads and statements in a transaction do not. */
  override async query(sql: string | { query: string; values: unknown[] }, options?: QueryOptions): Promise<any> {
    if (options?.transaction || isRead(options)) return super.query(sql, options);
    return this.writer.run(() => super.query(sql, options));
  }
}

function isRead(options: QueryOptions | undefined): boolean {
  if (!options) return false;
  if (options.type) return READ_TYPES.has(options.type);
  // Sequelize reads a query without a type as SELECT when it maps rows onto a model or a plain object.
  return Boolean((options as { model?: unknown }).model || options.plain || options.nest);
}

