/**
 * The test database: PostgreSQL on 127.0.0.1 (TEST_DATABASE_URL), created when missing and reset
 * between tests by truncating every table but the migration record.
 */
import pg from "pg";
import path from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL!;
}

let ensured = false;

/** Create the test database if it does not exist yet. */
export async function ensureTestDatabase(url = testDatabaseUrl()): Promise<void> {
  if (ensured && url === testDatabaseUrl()) return;
  const target = new URL(url);
  const dbName = target.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${dbName.replace(/"/g, "")}"`);
  } finally {
    await client.end();
  }
  await resetSchemaIfUnrecorded(url);
  if (url === testDatabaseUrl()) ensured = true;
}

/**
 * A database left by an interrupted or older run can hold tables whose migrations are not recorded
 * (the migrator would then fail on "already exists"). Such a schema is dropped and rebuilt by the
 * migrations; a consistent one is kept.
 */
async function resetSchemaIfUnrecorded(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    const names = rows.map((r) => r.tablename);
    const appTables = names.filter((n) => n !== "sequelize_meta" && n !== "SequelizeMeta");
    if (appTables.length === 0) return;
    const recorded = names.includes("sequelize_meta")
      ? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM sequelize_meta`)).rows[0]?.n ?? 0)
      : 0;
    if (recorded > 0) return;
    await client.query("DROP SCHEMA public CASCADE");
    await client.query("CREATE SCHEMA public");
  } finally {
    await client.end();
  }
}

/** Empty every application table (keeps the schema and the migration record). */
export async function truncateAll(url = testDatabaseUrl()): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      // The migration record is "sequelize_meta" (models are underscored); truncating it would make
      // the next server start re-run every migration against existing tables.
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('SequelizeMeta', 'sequelize_meta')`,
    );
    if (rows.length > 0) {
      const sql = `TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(", ")} RESTART IDENTITY CASCADE`;
      // A server still running from the previous test may be storing a document (a transaction
      // that locks room_documents, then document_updates) while TRUNCATE locks the tables in its
      // own order: PostgreSQL resolves that deadlock by aborting one side, so try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await client.query(sql);
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== "40P01" || attempt >= 5) throw error;
        }
      }
    }
  } finally {
    await client.end();
  }
}

/** A fresh SQLite file URL in a temporary directory. */
export function tempSqliteUrl(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "syncforge-test-"));
  return `sqlite:${path.join(dir, "test.sqlite")}`;
}
