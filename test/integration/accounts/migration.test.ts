/**
 * The accounts migration (and the room tombstones after it) runs up, down and up again on
 * PostgreSQL (a throwaway database) and on SQLite, and leaves every accounts table in place.
 */
import { expect } from "chai";
import pg from "pg";
import { createDatabase, type Database } from "../../../db/index.ts";
import { createMigrator } from "../../../db/migrator.ts";
import { ensureTestDatabase, tempSqliteUrl, testDatabaseUrl } from "../../helpers/database.ts";

const MIGRATION = "20261125010000-accounts.ts";
const TABLES = ["users", "organizations", "memberships", "api_keys", "rooms", "email_tokens", "sessions"];
// Later migrations' tables, newest last: going down to the tombstones migration reverts invitations.
const LATER = ["room_tombstones", "invitations"];

async function tables(db: Database): Promise<string[]> {
  const names = await db.sequelize.getQueryInterface().showAllTables();
  return names.map((t) => (typeof t === "string" ? t : (t as { tableName: string }).tableName));
}

async function roundTrip(url: string): Promise<void> {
  const db = createDatabase({ url, poolMax: 2, ssl: false });
  try {
    const migrator = createMigrator(db.sequelize);
    await migrator.up();
    expect(await tables(db)).to.include.members([...TABLES, ...LATER]);
    await migrator.down({ to: "20261201000000-room-tombstones.ts" });
    const withoutTombstones = await tables(db);
    for (const t of LATER) expect(withoutTombstones, t).to.not.include(t);
    expect(withoutTombstones).to.include.members(TABLES);
    await migrator.down({ to: MIGRATION });
    const after = await tables(db);
    for (const t of TABLES) expect(after, t).to.not.include(t);
    expect(after).to.include("room_documents");
    await migrator.up();
    expect(await tables(db)).to.include.members([...TABLES, ...LATER]);
  } finally {
    await db.close();
  }
}

describe("accounts migration", () => {
  it("goes up, down and up on SQLite", async () => {
    await roundTrip(tempSqliteUrl());
  });

  it("goes up, down and up on PostgreSQL", async () => {
    const url = new URL(testDatabaseUrl());
    const name = `${url.pathname.slice(1)}_migration_${process.pid}`;
    url.pathname = `/${name}`;
    await ensureTestDatabase(url.toString());
    try {
      await roundTrip(url.toString());
    } finally {
      const admin = new URL(url);
      admin.pathname = "/postgres";
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}"`);
      await client.end();
    }
  });
});
