import { expect } from "chai";
import { startServer, spawnServer, mintToken, type TestServer, type ChildServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import type { PresenceEvent } from "../../../server/domain/presence/index.ts";
import { connectYws } from "../../helpers/yws.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Poll an async read until `predicate` holds; resolves with the last value read. */
async function eventually<T>(read: () => Promise<T>, predicate: (value: T) => boolean, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (predicate(value)) return value;
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function recordEvents(server: TestServer): PresenceEvent[] {
  const events: PresenceEvent[] = [];
  server.app.presence.events.subscribe((e) => events.push(e));
  return events;
}

describe("room presence: users, connection counts, userEntered / userLeft", () => {
  const clients: TestProvider[] = [];
  let counter = 0;
  let room: string;

  beforeEach(() => {
    room = `presence-room-${process.pid}-${++counter}`;
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });

  async function connect(url: string, userId: string, name = userId): Promise<TestProvider> {
    const c = connectProvider(url, room, await mintToken({ userId, userInfo: { name } }));
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  function close(c: TestProvider): void {
    clients.splice(clients.indexOf(c), 1);
    c.destroy();
  }

  describe("in one process (no Redis)", () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ REDIS_URL: undefined });
    });
    after(() => server.close());

    it("counts a user with two tabs once, entering on the first and leaving after the last", async () => {
      const events = recordEvents(server);
      const ref = { orgId: "org-test", roomId: room };
      const tab1 = await connect(server.collabUrl, "ada", "Ada");
      const tab2 = await connect(server.collabUrl, "ada", "Ada");
      const other = await connect(server.collabUrl, "bob");
      await waitFor(() => events.length === 2, 5000, "two userEntered");
      expect(await server.app.presence.activeUsers(ref)).to.deep.equal([
        { id: "ada", info: { name: "Ada" }, connections: 2 },
        { id: "bob", info: { name: "bob" }, connections: 1 },
      ]);
      expect(events.map((e) => [e.type, e.userId])).to.deep.equal([
        ["userEntered", "ada"],
        ["userEntered", "bob"],
      ]);

      close(tab1);
      await waitFor(() => server.app.hocuspocus.getConnectionsCount() === 2, 5000, "tab 1 closed");
      close(other);
      await waitFor(() => events.length === 3, 5000, "bob leaves");
      expect(events[2]).to.include({ type: "userLeft", userId: "bob", orgId: "org-test", roomId: room });
      expect((await server.app.presence.activeUsers(ref)).map((u) => [u.id, u.connections])).to.deep.equal([["ada", 1]]);

      close(tab2);
      await waitFor(() => events.length === 4, 5000, "ada leaves");
      expect(events[3]).to.deep.include({ type: "userLeft", userId: "ada", info: { name: "Ada" } });
      expect(await server.app.presence.activeUsers(ref)).to.deep.equal([]);
    });
  });

  describe("across processes with Redis", () => {
    const prefix = `sf-test-presence-${process.pid}-${Date.now()}`;
    let a: TestServer;
    let b: TestServer;
    let child: ChildServer | null = null;
    before(async () => {
      const env = { REDIS_URL, REDIS_PREFIX: prefix, PRESENCE_TTL_MS: "900" };
      [a, b] = await Promise.all([startServer(env), startServer(env)]);
    });
    after(async () => {
      await child?.kill();
      await Promise.all([a.close(), b.close()]);
    });

    it("enters once and leaves once for a user connected to two processes", async () => {
      const eventsA = recordEvents(a);
      const eventsB = recordEvents(b);
      const ref = { orgId: "org-test", roomId: room };
      const onA = await connect(a.collabUrl, "ada");
      await waitFor(() => eventsA.length === 1, 5000, "userEntered on A");
      const onB = await connect(b.collabUrl, "ada");
      await waitFor(() => b.app.hocuspocus.getConnectionsCount() === 1, 5000, "B connected");
      for (const server of [a, b]) {
          expect(await server.app.presence.activeUsers(ref)).to.deep.equal([{ id: "ada", info: { name: "ada" }, connections: 2 }]);
      }
      close(onA);
      await waitFor(() => a.app.hocuspocus.getConnectionsCount() === 0, 5000, "A disconnected");
      close(onB);
      await waitFor(() => eventsB.length === 1, 5000, "userLeft on B");
      expect(eventsA.map((e) => e.type)).to.deep.equal(["userEntered"]);
      expect(eventsB.map((e) => e.type)).to.deep.equal(["userLeft"]);
      expect(await a.app.presence.activeUsers(ref)).to.deep.equal([]);
    });

    it("awareness crosses processes stamped, and a y-websocket echo on one process cannot claim a client of the other", async () => {
      const onA = await connect(a.collabUrl, "ada", "Ada");
      const echoer = connectYws(b.httpUrl, room, await mintToken({ userId: "eve", userInfo: { name: "Eve" } }));
      try {
        await waitFor(() => echoer.provider.synced, 5000, "y-websocket on B");
        onA.provider.setAwarenessField("pointer", { x: 1, y: 1 });
        // Eve's y-websocket provider on B applies Ada's state and sends it back to B: B must not
        // let Eve's connection take Ada's client id (it would be re-stamped as Eve).
        await waitFor(() => (echoer.provider.awareness.getStates().get(onA.doc.clientID) as any)?.pointer?.x === 1, 5000, "Ada on B");
        onA.provider.setAwarenessField("pointer", { x: 2, y: 2 });
        await waitFor(() => (echoer.provider.awareness.getStates().get(onA.doc.clientID) as any)?.pointer?.x === 2, 5000, "Ada moves");
        echoer.provider.awareness.setLocalStateField("pointer", { x: 9, y: 9 });
        await waitFor(() => (onA.provider.awareness!.getStates().get(echoer.doc.clientID) as any)?.pointer?.x === 9, 5000, "Eve on A");
        expect((onA.provider.awareness!.getStates().get(echoer.doc.clientID) as any).user.id).to.equal("eve");
        const adaOnB = b.app.presenceHub.statesOf(toDocumentName("org-test", room)).get(onA.doc.clientID) as any;
        expect(adaOnB.user).to.deep.include({ id: "ada", name: "Ada" });
        expect(echoer.provider.awareness.getStates().get(onA.doc.clientID)).to.deep.include({ user: adaOnB.user });
      } finally {
        echoer.destroy();
      }
    });

    it("forgets the users of a killed process and announces their departure", async function () {
      this.timeout(60_000);
      child = await spawnServer({ REDIS_URL, REDIS_PREFIX: prefix, PRESENCE_TTL_MS: "900" });
      const eventsA = recordEvents(a);
      const eventsB = recordEvents(b);
      const ref = { orgId: "org-test", roomId: room };
      await connect(child.collabUrl, "kim");
      await connect(a.collabUrl, "lee");
      await waitFor(() => eventsA.some((e) => e.userId === "lee"), 5000, "lee enters on A");
      await eventually(() => a.app.presence.activeUsers(ref), (u) => u.length === 2, "kim and lee");

      await child.kill();
      child = null;
      const users = await eventually(() => b.app.presence.activeUsers(ref), (u) => u.length === 1, "kim to disappear");
      expect(users.map((u) => u.id)).to.deep.equal(["lee"]);
      const kimLeft = () => [...eventsA, ...eventsB].filter((e) => e.type === "userLeft" && e.userId === "kim");
      await waitFor(() => kimLeft().length === 1, 5000, "kim's userLeft, reaped by A or B");
      expect(kimLeft()).to.have.length(1);
    });
  });
});
