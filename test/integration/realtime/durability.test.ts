/**
 * Durability across real server processes, on PostgreSQL and on SQLite: a room's content survives
 * a graceful restart, and an edit that one client has seen another client make survives `kill -9`
 * (it was in the update log before it was broadcast).
 */
import { expect } from "chai";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl, tempSqliteUrl, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openDatabase, readStored, snapshotText, storedText } from "../../helpers/documents.ts";
import type { Database } from "../../../db/index.ts";
import { migrate } from "../../../db/migrator.ts";

const ORG = "org-test";
// Long debounce: nothing is stored while a test runs, only on shutdown, so the log is what survives.
const QUIET_STORE = { STORE_DEBOUNCE_MS: "60000", STORE_MAX_DEBOUNCE_MS: "120000" };

const dialects: Array<{ name: string; url: () => Promise<string> }> = [
  {
    name: "PostgreSQL",
    url: async () => {
      await ensureTestDatabase();
      return testDatabaseUrl();
    },
  },
  { name: "SQLite", url: async () => tempSqliteUrl() },
];

for (const dialect of dialects) {
  describe(`durability on ${dialect.name}`, function () {
    this.timeout(60_000);
    let url: string;
    let token: string;
    const servers: ChildServer[] = [];
    const clients: TestProvider[] = [];
    const databases: Database[] = [];

    async function spawn(): Promise<ChildServer> {
      const server = await spawnServer({ DATABASE_URL: url, ...QUIET_STORE });
      servers.push(server);
      return server;
    }
    function connect(server: ChildServer, room: string): TestProvider {
      const c = connectProvider(server.collabUrl, room, token);
      clients.push(c);
      return c;
    }
    function database(): Database {
      const db = openDatabase(url);
      databases.push(db);
      return db;
    }

    beforeEach(async () => {
      url = await dialect.url();
      if (url.startsWith("postgres")) {
        // The schema must exist before truncating (a server would create it on start).
        const db = database();
        await migrate(db.sequelize);
        await truncateAll(url);
      }
      token = await mintToken({ orgId: ORG });
    });
    afterEach(async () => {
      while (clients.length) clients.pop()!.destroy();
      for (const s of servers.splice(0)) if (s.process.exitCode === null && s.process.signalCode === null) await s.kill();
      for (const db of databases.splice(0)) await db.close();
    });

    it("keeps a room's content across a graceful restart (SIGTERM)", async () => {
      const first = await spawn();
      const a = connect(first, "restart");
      await waitForSynced(a);
      a.text.insert(0, "survives a restart");
      await waitForAcked(a);
      expect(await first.stop(), "exit code").to.equal(0);

      const stored = await readStored(database(), ORG, "restart");
      expect(snapshotText(stored), "shutdown wrote the snapshot").to.equal("survives a restart");
      expect(stored.log, "shutdown compacted the update log").to.have.length(0);

      const second = await spawn();
      const fresh = connect(second, "restart");
      await waitForSynced(fresh);
      expect(fresh.text.toString()).to.equal("survives a restart");
      expect(await second.stop()).to.equal(0);
    });

    it("keeps an edit another client has seen when the server is killed with SIGKILL", async () => {
      const first = await spawn();
      const a = connect(first, "crash");
      const b = connect(first, "crash");
      await Promise.all([waitForSynced(a), waitForSynced(b)]);
      a.text.insert(0, "seen by B");
      await waitFor(() => b.text.toString() === "seen by B", 5000, "B to observe A's edit");
      await first.kill();

      const stored = await readStored(database(), ORG, "crash");
      expect(stored.snapshot, "no snapshot was written before the crash").to.equal(null);
      expect(stored.log.length, "the edit is in the update log").to.be.greaterThan(0);
      expect(storedText(stored)).to.equal("seen by B");

      while (clients.length) clients.pop()!.destroy();
      const second = await spawn();
      const fresh = connect(second, "crash");
      await waitForSynced(fresh);
      expect(fresh.text.toString()).to.equal("seen by B");
      expect(await second.stop()).to.equal(0);

      // Loading a document with a log tail schedules its compaction, so even a read-only visit
      // after a crash leaves the document compacted once the server shuts down.
      const after = await readStored(database(), ORG, "crash");
      expect(snapshotText(after)).to.equal("seen by B");
      expect(after.log).to.have.length(0);
    });

    it("keeps several rapid edits from several clients through SIGKILL", async () => {
      const first = await spawn();
      const a = connect(first, "burst");
      const b = connect(first, "burst");
      await Promise.all([waitForSynced(a), waitForSynced(b)]);
      for (let i = 0; i < 50; i++) {
        a.text.insert(a.text.length, "a");
        b.text.insert(0, "b");
      }
      await waitFor(() => a.text.length === 100 && b.text.toString() === a.text.toString(), 10_000, "convergence");
      const expected = a.text.toString();
      await first.kill();

      expect(storedText(await readStored(database(), ORG, "burst"))).to.equal(expected);
      while (clients.length) clients.pop()!.destroy();
      const second = await spawn();
      const fresh = connect(second, "burst");
      await waitForSynced(fresh);
      expect(fresh.text.toString()).to.equal(expected);
    });
  });
}
