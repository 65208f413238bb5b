/**
 * Two server processes sharing one room through Redis and one PostgreSQL database: clients on
 * different processes converge, stopping either process (SIGTERM or SIGKILL) loses nothing, and
 * presence crosses processes (server/realtime/presence/presence-relay.ts).
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

  async function spawn(env: Record<string, string> = {}): Promise<ChildServer> {
    const server = await spawnServer({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix, ...env });
    servers.push(server);
    return server;
  }
  function connect(server: ChildServer, as = token): TestProvider {
    const c = connectProvider(server.collabUrl, ROOM, as);
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

  it("does not announce an update to the other process before it is durable (the log cannot commit, then can)", async () => {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    const a = connect(s1);
    const b = connect(s2);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    await converge(a, b, "a ", "b ");
    const before = a.text.toString();
    // Both processes share the database: while the log's table is gone, A cannot make the edit durable.
    await db.sequelize.query("ALTER TABLE document_updates RENAME TO document_updates_unavailable");
    try {
      a.text.insert(a.text.length, "held");
      await new Promise((r) => setTimeout(r, 1500));
      expect(b.text.toString(), "B's process heard nothing of an update that is not durable").to.equal(before);
    } finally {
      await db.sequelize.query("ALTER TABLE document_updates_unavailable RENAME TO document_updates");
    }
    await waitFor(() => b.text.toString() === a.text.toString() && b.text.toString().includes("held"), 10_000, "the update to reach B once durable");
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

  describe("presence", () => {
    /** The state `observer` shows for `clientId`. */
    const stateAt = (observer: TestProvider, clientId: number) =>
      observer.provider.awareness!.getStates().get(clientId) as { user?: { id: string }; presence?: { n: number } } | undefined;

    it("reaches a client on the other process stamped, also one that joins later, and leaves with its client", async () => {
      const [s1, s2] = await Promise.all([spawn(), spawn()]);
      const ada = connect(s1, await mintToken({ orgId: ORG, userId: "ada" }));
      const bob = connect(s2, await mintToken({ orgId: ORG, userId: "bob" }));
      await Promise.all([waitForSynced(ada), waitForSynced(bob)]);
      ada.provider.setAwarenessField("presence", { n: 1 });
      await waitFor(() => stateAt(bob, ada.doc.clientID)?.presence?.n === 1, 5000, "Ada's state on the other process");
      expect(stateAt(bob, ada.doc.clientID)!.user!.id).to.equal("ada");
      // A room's first member on a process asks the others for their states.
      bob.destroy();
      clients.splice(clients.indexOf(bob), 1);
      const late = connect(s2, await mintToken({ orgId: ORG, userId: "cy" }));
      await waitFor(() => stateAt(late, ada.doc.clientID)?.presence?.n === 1, 5000, "Ada's state at a later joiner");

      ada.destroy();
      clients.splice(clients.indexOf(ada), 1);
      // Well within the 30 s after which the client would drop it by itself.
      await waitFor(() => stateAt(late, ada.doc.clientID) === undefined, 5000, "Ada's state removed");
    });

    it("expires the states of a killed process, not those of a live one", async function () {
      const timeoutMs = 2000;
      const [s1, s2] = await Promise.all([spawn({ AWARENESS_REMOTE_TIMEOUT_MS: String(timeoutMs) }), spawn({ AWARENESS_REMOTE_TIMEOUT_MS: String(timeoutMs) })]);
      const ada = connect(s1, await mintToken({ orgId: ORG, userId: "ada" }));
      const bob = connect(s2, await mintToken({ orgId: ORG, userId: "bob" }));
      await Promise.all([waitForSynced(ada), waitForSynced(bob)]);
      // Ada keeps changing her state for longer than the timeout: heard of, so kept.
      let n = 0;
      const moving = setInterval(() => ada.provider.setAwarenessField("presence", { n: ++n }), 250);
      try {
        await waitFor(() => (stateAt(bob, ada.doc.clientID)?.presence?.n ?? 0) > 0, 5000, "Ada's state on the other process");
        const until = Date.now() + timeoutMs * 1.5;
        while (Date.now() < until) {
          expect(stateAt(bob, ada.doc.clientID), "a live process's state is kept").to.not.equal(undefined);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        clearInterval(moving);
      }
      await s1.kill();
      const killedAt = Date.now();
      await waitFor(() => stateAt(bob, ada.doc.clientID) === undefined, timeoutMs * 3, "Ada's state to expire on the other process");
      expect(Date.now() - killedAt).to.be.below(timeoutMs * 3);
    });
  });
});
