/**
 * Graceful shutdown of a real server process: on SIGTERM every loaded document is flushed (its
 * snapshot written and its update log compacted), every socket is closed, and the process exits 0.
 */
import { expect } from "chai";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored, snapshotText } from "../../helpers/documents.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-test";

describe("graceful shutdown on SIGTERM", function () {
  this.timeout(30_000);
  let db: Database;
  let server: ChildServer | null = null;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    await ensureTestDatabase();
    db = openDatabase(testDatabaseUrl());
    await migrate(db.sequelize);
    await truncateAll();
  });
  after(async () => {
    while (clients.length) clients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
    if (server && server.process.exitCode === null && server.process.signalCode === null) await server.kill();
    await db?.close();
  });

  it("flushes every loaded document, closes every socket and exits 0", async () => {
    // No store runs on its own during the test: whatever is stored, shutdown stored it.
    server = await spawnServer({ STORE_DEBOUNCE_MS: "60000", STORE_MAX_DEBOUNCE_MS: "120000" });
    const token = await mintToken({ orgId: ORG });
    const rooms = ["alpha", "beta", "gamma"];
    for (const room of rooms) {
      const c = connectProvider(server.collabUrl, room, token);
      clients.push(c);
      await waitForSynced(c);
      c.text.insert(0, `content of ${room}`);
      await waitForAcked(c);
    }
    for (const room of rooms) {
      const stored = await readStored(db, ORG, room);
      expect(stored.snapshot, `${room} has no snapshot before shutdown`).to.equal(null);
      expect(stored.log.length, `${room} is in the update log`).to.be.greaterThan(0);
    }
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("alpha", token));
    await waitForAuthenticated(raw);

    const exitCode = await server.stop();
    expect(exitCode).to.equal(0);
    expect((await raw.closed).code, "sockets are closed as going away").to.equal(1001);
    for (const room of rooms) {
      const stored = await readStored(db, ORG, room);
      expect(snapshotText(stored), `${room} snapshot`).to.equal(`content of ${room}`);
      expect(stored.log, `${room} update log compacted`).to.have.length(0);
    }
  });
});
