/**
 * The database: Sequelize over PostgreSQL (production, tests) or an embedded SQLite file (the
 * default, so a fresh clone starts with no setup). The same models and migrations serve both.
 */
import path from "node:path";
import { QueryTypes, Sequelize, Transaction, type Options } from "sequelize";
import sqliteModule from "./sqlite.ts";
import { SqliteSequelize } from "./sqlite-sequelize.ts";
import { initModels, type Models } from "./models/index.ts";
import { createDriver, type Driver } from "./driver.ts";

export interface DatabaseConfig {
  url: string;
  poolMax: number;
  ssl: boolean;
  /** PostgreSQL: the update log's appends wait for the WAL flush (default: yes; config.ts explains). */
  updateLogSynchronousCommit?: boolean;
}

export interface Database {
  sequelize: Sequelize;
  models: Models;
  /** The drivers beside Sequelize, for hot statements (driver.ts). */
  driver: Driver;
  dialect: "postgres" | "sqlite";
  close(): Promise<void>;
}

/** Open a connection pool and register every model; call migrate() before serving. */
export function createDatabase(config: DatabaseConfig): Database {
  const common: Options = {
    logging: false,
    define: { underscored: true },
    pool: { max: config.poolMax, min: 0, idle: 10_000, acquire: 30_000 },
  };
  let sequelize: Sequelize;
  if (config.url.startsWith("sqlite:")) {
    const file = config.url.slice("sqlite:".length) || ":memory:";
    // One writer: transactions and writes take turns in this process, and every transaction takes
    // SQLite's write lock at BEGIN (IMMEDIATE), not at its first write (see sqlite-sequelize.ts).
    sequelize = new SqliteSequelize({
      ...common,
      dialect: "sqlite",
      dialectModule: sqliteModule,
      transactionType: Transaction.TYPES.IMMEDIATE,
      storage: file === ":memory:" ? file : path.resolve(file),
    });
  } else {
    sequelize = new Sequelize(config.url, {
      ...common,
      dialect: "postgres",
      dialectOptions: config.ssl ? { ssl: { require: true, rejectUnauthorized: false } } : {},
    });
  }
  const models = initModels(sequelize);
  const driver = createDriver({ ...config, relaxedCommits: config.updateLogSynchronousCommit === false }, sequelize);
  return {
    sequelize,
    models,
    driver,
    dialect: sequelize.getDialect() === "postgres" ? "postgres" : "sqlite",
    close: async () => {
      const closed = await Promise.allSettled([driver.close(), sequelize.close()]);
      const failed = closed.find((c) => c.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
}

/** True when a query answers; used by /health. */
export async function pingDatabase(db: Database): Promise<boolean> {
  try {
    await db.sequelize.query("SELECT 1", { type: QueryTypes.SELECT });
    return true;
  } catch {
    return false;
  }
}
