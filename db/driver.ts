/**
 * The database drivers themselves (node-postgres, sqlite3), beside Sequelize, for the few hot
 * statements where Sequelize's cost shows: loading a room document on join (a 1 MB snapshot
 * through model instances), and later the update log's appends. Same database, same config.
 *
 * - PostgreSQL: a second pg.Pool (at most `poolMax` connections, opened on demand). Statements
 *   are named, so each connection parses and plans one once. bytea comes back as pg's hex text
 *   parsed into a Buffer: node-postgres cannot receive binary columns (its protocol parser decodes
 *   every field as UTF-8, so `binary: true` corrupts bytes), and one SELECT per join is cheap.
 * - SQLite: one more sqlite3 connection to the file (WAL, busy timeout: sqlite.ts), prepared
 *   statements cached by name. Reads run at once: a WAL reader never waits and never blocks the
 *   writer. Writes take a turn at the process' one writer queue first, as Sequelize's do
 *   (sqlite-sequelize.ts explains why this process must never make SQLite wait for itself).
 *
 * SQL is written once for both dialects with `$1`, `$2` … placeholders (SQLite reads them as
 * numbered parameters `?1`, `?2`). A single statement reads one consistent snapshot on both
 * databases (PostgreSQL's statement snapshot; SQLite's read transaction around the statement).
 */
import pg from "pg";
import path from "node:path";
import { QueryTypes, type Sequelize } from "sequelize";
import sqliteModule from "./sqlite.ts";
import { SqliteSequelize } from "./sqlite-sequelize.ts";

/** A statement by name: PostgreSQL prepares it once per connection, SQLite once per process. */
export interface Statement {
  name: string;
  text: string;
}

export interface RunResult<T> {
  /** Rows of a RETURNING clause (empty without one). */
  rows: T[];
  /** Rows inserted, updated or deleted. */
  changes: number;
  /**
   * SQLite: the rowid of the statement's last inserted row (one INSERT's rows get consecutive
   * ids: it holds the write lock throughout). Null on PostgreSQL (use RETURNING there).
   */
  lastId: number | null;
}

export interface Driver {
  dialect: "postgres" | "sqlite";
  /** A read: the rows, as the driver parses them (PostgreSQL bigint as a string, blobs as Buffers). */
  query<T>(statement: Statement, params?: unknown[]): Promise<T[]>;
  /**
   * A write outside any transaction (on SQLite in this process' writer turn; `urgent` goes before
   * ordinary waiting writers: sqlite-sequelize.ts).
   */
  run<T = never>(statement: Statement, params?: unknown[], options?: RunOptions): Promise<RunResult<T>>;
  close(): Promise<void>;
}

export interface RunOptions {
  /** SQLite: take the writer turn before ordinary waiting writes (sqlite-sequelize.ts). */
  urgent?: boolean;
  /**
   * PostgreSQL: commit without waiting for the WAL flush when the database config allows it
   * (`relaxedCommits`): the write survives a crash of this process, not one of PostgreSQL or its
   * machine in the next fraction of a second. SQLite already commits so (WAL, synchronous=NORMAL).
   */
  relaxedCommit?: boolean;
}

export interface DriverConfig {
  url: string;
  poolMax: number;
  ssl: boolean;
  /** Whether `relaxedCommit` writes may skip the WAL flush on PostgreSQL (default: no). */
  relaxedCommits?: boolean;
}

/** Open the drivers for the database `sequelize` serves (the same URL); close it with the database. */
export function createDriver(config: DriverConfig, sequelize: Sequelize): Driver {
  if (config.url.startsWith("sqlite:")) {
    if (!(sequelize instanceof SqliteSequelize)) throw new Error("a SQLite driver needs the SQLite Sequelize (its writer queue)");
    return new SqliteDriver(config.url.slice("sqlite:".length) || ":memory:", sequelize);
  }
  return new PostgresDriver(config);
}

class PostgresDriver implements Driver {
  readonly dialect = "postgres";
  private readonly pool: pg.Pool;
  /** Sessions with synchronous_commit off, for relaxed commits (the update log keeps up to four INSERTs in flight). */
  private readonly relaxed: pg.Pool | null;

  constructor(config: DriverConfig) {
    const options = (max: number, extra: Partial<pg.PoolConfig> = {}): pg.PoolConfig => ({
      connectionString: config.url,
      max,
      idleTimeoutMillis: 10_000,
      ssl: config.ssl ? { rejectUnauthorized: false } : undefined,
      ...extra,
    });
    this.pool = new pg.Pool(options(config.poolMax));
    this.relaxed = config.relaxedCommits ? new pg.Pool(options(4, { options: "-c synchronous_commit=off" })) : null;
    // An idle connection the server closed (restart, idle timeout) errors on the pool: the next
    // query opens a new one. Without a listener the error would end the process.
    this.pool.on("error", () => {});
    this.relaxed?.on("error", () => {});
  }

  async query<T>(statement: Statement, params: unknown[] = []): Promise<T[]> {
    const result = await this.pool.query({ name: statement.name, text: statement.text, values: params });
    return result.rows as T[];
  }

  async run<T>(statement: Statement, params: unknown[] = [], options: RunOptions = {}): Promise<RunResult<T>> {
    const pool = (options.relaxedCommit && this.relaxed) || this.pool;
    const result = await pool.query({ name: statement.name, text: statement.text, values: params });
    return { rows: result.rows as T[], changes: result.rowCount ?? 0, lastId: null };
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.relaxed?.end()]);
  }
}

type SqliteDatabase = InstanceType<typeof sqliteModule.Database>;
type SqliteStatement = ReturnType<SqliteDatabase["prepare"]>;

class SqliteDriver implements Driver {
  readonly dialect = "sqlite";
  private readonly sequelize: SqliteSequelize;
  private readonly file: string;
  /** The driver's own connection, once opening it has begun; never in memory (see viaSequelize). */
  private opened: Promise<SqliteDatabase> | null = null;
  private readonly statements = new Map<string, Promise<SqliteStatement>>();
  private readonly memory: boolean;
  private closed = false;

  constructor(file: string, sequelize: SqliteSequelize) {
    this.sequelize = sequelize;
    this.file = path.resolve(file);
    // In memory, a connection of our own would open a second, empty database.
    this.memory = file === ":memory:";
    if (!this.memory) this.connection().catch(() => {}); // reported by the first statement
  }

  /** The connection, opened again by the next statement when opening it failed (the file's folder missing, say). */
  private connection(): Promise<SqliteDatabase> {
    if (!this.opened) {
      const opened = new Promise<SqliteDatabase>((resolve, reject) => {
        const db: SqliteDatabase = new sqliteModule.Database(this.file, sqliteModule.OPEN_READWRITE | sqliteModule.OPEN_CREATE, (error) => {
          if (error) return reject(error); // closed already (sqlite.ts)
          // One statement at a time on this connection: a read still stepping on it would keep
          // an append's implicit transaction (and SQLite's write lock) open until it finished.
          db.serialize();
          resolve(db);
        });
      });
      opened.catch(() => {
        if (this.opened === opened) this.opened = null;
      });
      this.opened = opened;
    }
    return this.opened;
  }

  async query<T>(statement: Statement, params: unknown[] = []): Promise<T[]> {
    if (this.memory) return this.viaSequelize<T>(statement, params, false).then((r) => r.rows);
    const prepared = await this.prepare(statement);
    return new Promise((resolve, reject) => {
      prepared.all(params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows)));
    });
  }

  async run<T>(statement: Statement, params: unknown[] = [], options: RunOptions = {}): Promise<RunResult<T>> {
    if (this.memory) return this.viaSequelize<T>(statement, params, true);
    const prepared = await this.prepare(statement);
    return this.sequelize.writer.run(
      () =>
        new Promise<RunResult<T>>((resolve, reject) => {
          if (returnsRows(statement)) {
            prepared.all(params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve({ rows, changes: rows.length, lastId: null })));
          } else {
            prepared.run(params, function (this: { changes: number; lastID: number }, error: Error | null) {
              if (error) reject(error);
              else resolve({ rows: [], changes: this.changes, lastId: this.lastID });
            });
          }
        }),
      options.urgent,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const db = await this.opened?.catch(() => null);
    if (!db) return;
    for (const statement of this.statements.values()) {
      const prepared = await statement.catch(() => null);
      if (prepared) await new Promise<void>((resolve) => prepared.finalize(() => resolve()));
    }
    this.statements.clear();
    await new Promise<void>((resolve, reject) => db.close((error) => (error ? reject(error) : resolve())));
  }

  private prepare(statement: Statement): Promise<SqliteStatement> {
    if (this.closed) return Promise.reject(new Error("the database driver is closed"));
    let prepared = this.statements.get(statement.name);
    if (!prepared) {
      const text = toSqliteParameters(statement.text);
      prepared = this.connection().then(
        (db) =>
          new Promise<SqliteStatement>((resolve, reject) => {
            const s: SqliteStatement = db.prepare(text, (error: Error | null) => (error ? reject(error) : resolve(s)));
          }),
      );
      // A statement that failed to prepare (a typo, a missing table before migrations) is not kept.
      prepared.catch(() => this.statements.delete(statement.name));
      this.statements.set(statement.name, prepared);
    }
    return prepared;
  }

  /**
   * In memory, Sequelize's one connection is the database: statements run there, through
   * Sequelize's query() (which reads `$1` bind parameters itself, and gives a write its writer
   * turn). Sequelize runs an INSERT or UPDATE with sqlite3's run(), which returns no rows, so
   * RETURNING needs a database file.
   */
  private async viaSequelize<T>(statement: Statement, params: unknown[], write: boolean): Promise<RunResult<T>> {
    if (!write) return { rows: (await this.sequelize.query(statement.text, { bind: params, type: QueryTypes.SELECT })) as T[], changes: 0, lastId: null };
    if (/\bRETURNING\b/i.test(statement.text)) throw new Error("RETURNING needs SQLite in a file, not in memory");
    if (/^\s*INSERT\b/i.test(statement.text)) {
      // Sequelize's SQLite dialect answers an INSERT with sqlite3's [lastID, changes].
      const [lastId, changes] = (await this.sequelize.query(statement.text, { bind: params, type: QueryTypes.INSERT })) as unknown as [number, number];
      return { rows: [], changes: Number(changes), lastId: Number(lastId) };
    }
    const [, meta] = (await this.sequelize.query(statement.text, { bind: params, type: QueryTypes.RAW })) as [unknown, { changes?: number } | undefined];
    return { rows: [], changes: Number(meta?.changes ?? 0), lastId: null };
  }
}

const returning = new WeakMap<Statement, boolean>();

/** Whether a write has a RETURNING clause; read once per statement object (the append's text is long and runs per commit). */
function returnsRows(statement: Statement): boolean {
  let known = returning.get(statement);
  if (known === undefined) {
    known = /\bRETURNING\b/i.test(statement.text);
    returning.set(statement, known);
  }
  return known;
}

/** `$1` → `?1`: SQLite's numbered parameters, so one SQL text serves both dialects. */
export function toSqliteParameters(sql: string): string {
  return sql.replace(/\$(\d+)/g, "?$1");
}
