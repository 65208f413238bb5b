/**
 * Two server processes sharing one room through Redis and one PostgreSQL database: clients on
 * different processes converge, and stopping either process (SIGTERM or SIGKILL) loses nothing.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { openDatabase, readStored, storedText } from "../../helpers/documents.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-test";
const ROOM = "shared";

describe("two server processes with Redis", function () {
  this.timeout(60_000);
  let db: Database;
  let token: string;
  let prefix: string;
  const servers: ChildServer[] = [];
  const clients: TestProvider[] = [];

  before(async () => {
    await ensureTestDatabase();
    db = openDatabase(testDatabaseUrl());
    await migrate(db.sequelize);
    token = await mintToken({ orgId: ORG });
  });
  after(() => db?.close());
  beforeEach(async () => {
    await truncateAll();
    prefix = `sf-test-${randomUUID()}`;
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    for (const s of servers.splice(0)) if (s.process.exitCode === null && s.process.signalCode === null) await s.kill();
  });

  async function spawn(): Promise<ChildServer> {
    const server = await spawnServer({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix });
    servers.push(server);
    return server;
  }
  function connect(server: ChildServer): TestProvider {
    const c = connectProvider(server.collabUrl, ROOM, token);
    clients.push(c);
    return c;
  }
  function dropClients(): void {
    while (clients.length) clients.pop()!.destroy();
  }
  async function converge(a: TestProvider, b: TestProvider, markerA: string, markerB: string): Promise<string> {
    a.text.insert(a.text.length, markerA);
    b.text.insert(0, markerB);
    await waitFor(
      () => a.text.toString() === b.text.toString() && a.text.toString().includes(markerA) && a.text.toString().includes(markerB),
      10_000,
      "clients on both processes to converge",
    );
    return a.text.toString();
  }
  /** Restart both processes; a fresh client on each must see `expected`. */
  async function restartBothAndCheck(expected: string): Promise<void> {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    const [c1, c2] = [connect(s1), connect(s2)];
    await Promise.all([waitForSynced(c1), waitForSynced(c2)]);
    await waitFor(() => c1.text.toString() === expected && c2.text.toString() === expected, 5000, "both fresh clients to see the content");
    dropClients();
    expect(await s1.stop()).to.equal(0);
    expect(await s2.stop()).to.equal(0);
    expect(storedText(await readStored(db, ORG, ROOM))).to.equal(expected);
  }

  it("clients on different processes converge", async () => {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    const a = connect(s1);
    const b = connect(s2);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    await converge(a, b, "from-one ", "from-two ");
    for (let i = 0; i < 20; i++) {
      a.text.insert(a.text.length, "1");
      b.text.insert(0, "2");
    }
    await waitFor(() => a.text.toString() === b.text.toString() && a.text.length === 18 + 40, 10_000, "burst convergence");
  });

  it("stopping one process with SIGTERM loses nothing", async () => {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    const a = connect(s1);
    const b = connect(s2);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    await converge(a, b, "a1 ", "b1 ");
    expect(await s1.stop(), "first process exits 0").to.equal(0);
    // B keeps editing on the surviving process.
    b.text.insert(b.text.length, "b2 ");
    const expected = b.text.toString();
    await waitFor(() => b.provider.isSynced && !b.provider.hasUnsyncedChanges, 5000, "B's edit acknowledged");
    dropClients();
    expect(await s2.stop(), "second process exits 0").to.equal(0);
    await restartBothAndCheck(expected);
  });

  it("killing one process with SIGKILL loses nothing", async () => {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    const a = connect(s1);
    const b = connect(s2);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    await converge(a, b, "a1 ", "b1 ");
    // A's last edit is killed with its process right after B has seen it.
    a.text.insert(a.text.length, "a-last ");
    await waitFor(() => b.text.toString().includes("a-last"), 5000, "B to observe A's last edit");
    await s1.kill();
    b.text.insert(b.text.length, "b2 ");
    const expected = b.text.toString();
    await waitFor(() => b.provider.isSynced && !b.provider.hasUnsyncedChanges, 5000, "B's edit acknowledged");
    dropClients();
    expect(await s2.stop()).to.equal(0);
    await restartBothAndCheck(expected);
  });

  it("killing both processes with SIGKILL loses nothing either process acknowledged", async () => {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    const a = connect(s1);
    const b = connect(s2);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    const expected = await converge(a, b, "only-in-a ", "only-in-b ");
    await Promise.all([s1.kill(), s2.kill()]);
    dropClients();
    expect(storedText(await readStored(db, ORG, ROOM))).to.equal(expected);
    await restartBothAndCheck(expected);
  });
});
