/**
 * Opening the embedded database: every connection turns the file to WAL. On a new file, two
 * connections doing that at once can deadlock, and SQLite answers one of them SQLITE_BUSY at once,
 * without waiting its busy timeout. This process opens two at start (Sequelize's and the driver's):
 * neither may fail, and the driver must not keep a failed open for good.
 */
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sqliteModule from "../../../db/sqlite.ts";
import { createDatabase } from "../../../db/index.ts";
import { migrate } from "../../../db/migrator.ts";

type Connection = InstanceType<typeof sqliteModule.Database>;

function open(file: string): Promise<{ db: Connection | null; error: string | null }> {
  return new Promise((resolve) => {
    const db: Connection = new sqliteModule.Database(file, sqliteModule.OPEN_READWRITE | sqliteModule.OPEN_CREATE, (error) =>
      resolve(error ? { db, error: error.message } : { db, error: null }),
    );
  });
}

function journalMode(db: Connection): Promise<string> {
  return new Promise((resolve, reject) => db.get("PRAGMA journal_mode", (error: Error | null, row: { journal_mode: string }) => (error ? reject(error) : resolve(row.journal_mode))));
}

describe("opening the embedded SQLite database", function () {
  this.timeout(60_000);

  it("opens six connections at once on each of 60 new files: none fails, each is in WAL", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "syncforge-open-"));
    const errors: string[] = [];
    for (let i = 0; i < 60; i++) {
      const opened = await Promise.all(Array.from({ length: 6 }, () => open(path.join(dir, `f${i}.sqlite`))));
      for (const { db, error } of opened) {
        if (error) errors.push(error);
        else expect(await journalMode(db!)).to.equal("wal");
        await new Promise((r) => db!.close(() => r(null)));
      }
    }
    expect(errors).to.deep.equal([]);
  });

  it("a new database's driver and Sequelize, opened together, both write after migrating (20 fresh files)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "syncforge-open-"));
    for (let i = 0; i < 20; i++) {
      const db = createDatabase({ url: `sqlite:${path.join(dir, `db${i}.sqlite`)}`, poolMax: 2, ssl: false });
      try {
        await migrate(db.sequelize);
        const { changes } = await db.driver.run({ name: "open_test_insert", text: "INSERT INTO document_updates (document_name, data, writer, created_at) VALUES ($1, $2, $3, $4)" }, [
          "\u0001org/room",
          Buffer.from([0, 0]),
          "test",
          "2026-12-04 00:00:00.000 +00:00",
        ]);
        expect(changes).to.equal(1);
        expect(await db.models.DocumentUpdate.count()).to.equal(1);
      } finally {
        await db.close();
      }
    }
  });

  it("the driver opens its connection again when the first try failed (the database's folder did not exist yet)", async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), "syncforge-open-")), "not-yet");
    // The driver opens its connection at once and fails: the folder is missing. Sequelize opens
    // lazily, creating the folder, when migrations run.
    const db = createDatabase({ url: `sqlite:${path.join(dir, "late.sqlite")}`, poolMax: 2, ssl: false });
    try {
      await new Promise((r) => setTimeout(r, 50));
      await migrate(db.sequelize);
      const rows = await db.driver.query<{ n: number }>({ name: "open_test_count", text: "SELECT count(*) AS n FROM document_updates" });
      expect(rows).to.deep.equal([{ n: 0 }]);
    } finally {
      await db.close();
    }
  });
});

