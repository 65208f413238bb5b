/**
 * The drivers beside Sequelize (db/driver.ts), on both databases: one SQL text with `$n`
 * placeholders, blobs back byte for byte, writes with RETURNING and change counts, statements
 * prepared once and reused, closed with the database. On SQLite, writes take the process' writer
 * turn (a Sequelize transaction holding it delays them) while reads do not wait for it.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { createDatabase, type Database } from "../../../db/index.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Statement } from "../../../db/driver.ts";
import { SqliteSequelize } from "../../../db/sqlite-sequelize.ts";
import { ensureTestDatabase, testDatabaseUrl, tempSqliteUrl, truncateAll } from "../../helpers/database.ts";

const INSERT: Statement = {
  name: "driver-test-insert",
  text: "INSERT INTO document_updates (document_name, data, writer, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
};
const SELECT: Statement = {
  name: "driver-test-select",
  text: "SELECT id, data FROM document_updates WHERE document_name = $1 AND writer = $2 ORDER BY id",
};
const DELETE: Statement = { name: "driver-test-delete", text: "DELETE FROM document_updates WHERE document_name = $1" };

for (const dialect of ["PostgreSQL", "SQLite"]) {
  describe(`database driver on ${dialect}`, () => {
    let db: Database;
    const now = () => (dialect === "SQLite" ? "2026-01-01 00:00:00.000 +00:00" : new Date());

    before(async () => {
      let url = tempSqliteUrl();
      if (dialect === "PostgreSQL") {
        await ensureTestDatabase();
        url = testDatabaseUrl();
      }
      db = createDatabase({ url, poolMax: 2, ssl: false });
      await migrate(db.sequelize);
    });
    beforeEach(async () => {
      if (dialect === "PostgreSQL") return truncateAll();
      await db.models.DocumentUpdate.destroy({ where: {} });
    });
    after(() => db?.close());

    it("writes and reads blobs byte for byte, with the same statements again and again", async () => {
      const blobs = [randomBytes(1024 * 1024), randomBytes(3), Buffer.from([0, 255, 0, 92, 120])];
      const ids: number[] = [];
      for (const blob of blobs) {
        const written = await db.driver.run<{ id: number | string }>(INSERT, ["doc-a", blob, "w1", now()]);
        expect(written.changes).to.equal(1);
        ids.push(Number(written.rows[0]!.id));
      }
      await db.driver.run(INSERT, ["doc-b", Buffer.from("other"), "w1", now()]);
      expect(ids[1]).to.be.greaterThan(ids[0]!);
      const rows = await db.driver.query<{ id: number | string; data: Buffer }>(SELECT, ["doc-a", "w1"]);
      expect(rows.map((r) => Number(r.id))).to.deep.equal(ids);
      rows.forEach((row, i) => expect(Buffer.compare(row.data, blobs[i]!), `blob ${i}`).to.equal(0));
      expect(await db.driver.query(SELECT, ["doc-a", "nobody"])).to.deep.equal([]);
      // Sequelize sees what the driver wrote (one database).
      expect(await db.models.DocumentUpdate.count({ where: { documentName: "doc-a" } })).to.equal(3);
      const deleted = await db.driver.run(DELETE, ["doc-a"]);
      expect(deleted).to.include({ changes: 3 });
      expect(deleted.rows).to.deep.equal([]);
    });

    it("rejects a statement the database refuses, and runs the next one", async () => {
      let error: unknown;
      try {
        await db.driver.query({ name: "driver-test-broken", text: "SELECT nope FROM document_updates" });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(Error);
      expect(await db.driver.query<{ one: number }>({ name: "driver-test-one", text: "SELECT 1 AS one" })).to.deep.equal([{ one: 1 }]);
    });

    if (dialect === "SQLite") {
      it("writes in this process' writer turn, and reads while a transaction holds it", async () => {
        const sequelize = db.sequelize as SqliteSequelize;
        const events: string[] = [];
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        const transaction = sequelize.transaction(async () => {
          events.push("transaction began");
          await held;
          events.push("transaction ends");
        });
        while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        const write = db.driver.run(INSERT, ["doc-c", Buffer.from("x"), "w1", now()]).then(() => events.push("driver wrote"));
        const read = await db.driver.query({ name: "driver-test-count", text: "SELECT count(*) AS n FROM document_updates" });
        events.push("driver read");
        expect(read).to.deep.equal([{ n: 0 }]);
        release();
        await Promise.all([transaction, write]);
        expect(events).to.deep.equal(["transaction began", "driver read", "transaction ends", "driver wrote"]);
      });
    }

    it("is closed with the database", async () => {
      const url = dialect === "PostgreSQL" ? testDatabaseUrl() : tempSqliteUrl();
      const other = createDatabase({ url, poolMax: 1, ssl: false });
      if (dialect === "SQLite") await migrate(other.sequelize);
      expect(await other.driver.query({ name: "driver-test-one", text: "SELECT 1 AS one" })).to.have.length(1);
      await other.close();
      let error: unknown;
      try {
        await other.driver.query({ name: "driver-test-one", text: "SELECT 1 AS one" });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(Error);
    });
  });
}

describe("database driver: relaxed commits on PostgreSQL", () => {
  const SETTING: Statement = { name: "driver-test-sync-commit", text: "SELECT current_setting('synchronous_commit') AS setting" };

  before(() => ensureTestDatabase());

  for (const [synchronous, expected] of [
    [false, "off"],
    [true, "on"],
  ] as const) {
    it(`commits a relaxed write with synchronous_commit ${expected} when updateLogSynchronousCommit is ${synchronous}, every other statement with it on`, async () => {
      const db = createDatabase({ url: testDatabaseUrl(), poolMax: 2, ssl: false, updateLogSynchronousCommit: synchronous });
      try {
        const relaxed = await db.driver.run<{ setting: string }>(SETTING, [], { relaxedCommit: true });
        expect(relaxed.rows[0]!.setting).to.equal(expected);
        expect((await db.driver.run<{ setting: string }>(SETTING)).rows[0]!.setting).to.equal("on");
        expect((await db.driver.query<{ setting: string }>(SETTING))[0]!.setting).to.equal("on");
      } finally {
        await db.close();
      }
    });
  }
});

describe("database driver on an in-memory SQLite database", () => {
  it("runs its statements on Sequelize's one connection, where the tables are", async () => {
    const db = createDatabase({ url: "sqlite::memory:", poolMax: 1, ssl: false });
    try {
      await migrate(db.sequelize);
      const insert = { name: "driver-test-insert-plain", text: INSERT.text.replace(" RETURNING id", "") };
      const written = await db.driver.run(insert, ["doc-m", Buffer.from([1, 2, 3]), "w1", "2026-01-01 00:00:00.000 +00:00"]);
      expect(written).to.deep.equal({ rows: [], changes: 1, lastId: 1 });
      const rows = await db.driver.query<{ data: Buffer }>(SELECT, ["doc-m", "w1"]);
      expect(rows.map((r) => [...r.data])).to.deep.equal([[1, 2, 3]]);
      let error: unknown;
      await db.driver.run(INSERT, ["doc-m", Buffer.from([4]), "w1", "2026-01-01 00:00:00.000 +00:00"]).catch((e) => (error = e));
      expect((error as Error).message).to.contain("RETURNING");
    } finally {
      await db.close();
    }
  });
});
