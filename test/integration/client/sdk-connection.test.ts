import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { startServer, spawnServer, type TestServer, type ChildServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws } from "../../helpers/yws.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { createClient, type Client, type Status } from "../../../client/core/index.ts";
import { DEFAULT_RETRY } from "../../../client/core/connection.ts";
import { AccessTokens } from "../../../server/auth/access-token.ts";
import { TEST_SECRET } from "../../helpers/server.ts";

describe("client SDK connection: token refresh, expiry, reconnection", () => {
  const clients: Client[] = [];
  const providers: TestProvider[] = [];
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
    while (providers.length) providers.pop()!.destroy();
  });

  describe("tokens", () => {
    let server: TestServer;
    let backend: AuthBackend;
    before(async () => {
      server = await startServer();
      // The app's backend mints 3-second tokens: the SDK must refresh them on the live connection.
      backend = await startAuthBackend({ ttlSeconds: 3 });
    });
    after(async () => {
      await backend.close();
      await server.close();
    });

    it("connecting → connected, then disconnected on leave; the socket closes with the last room", async () => {
      const c = createClient({ url: server.collabUrl, authEndpoint: backend.url("dora"), reconnect: FAST_RECONNECT });
      clients.push(c);
      const room = c.enterRoom(`states-${randomUUID()}`);
      expect(room.getStatus()).to.equal("connecting");
      const statuses: Status[] = [];
      room.events.status.subscribe((s) => statuses.push(s));
      await waitFor(() => room.getStatus() === "connected", 5000, "connected");
      const socket = room.provider.configuration.websocketProvider;
      room.leave();
      expect(statuses).to.deep.equal(["connected", "disconnected"]);
      expect(socket.shouldConnect).to.equal(false);
      await waitFor(() => server.app.hocuspocus.getConnectionsCount() === 0, 5000, "the server saw the room go");
    });

    it("a token that expires on a socket other rooms keep open is fetched again, and the room comes back", async function () {
      this.timeout(20_000);
      const expiring = `expiring-${randomUUID()}`;
      const steady = `steady-${randomUUID()}`;
      const calls: Record<string, number> = { [expiring]: 0, [steady]: 0 };
      const sign = (roomId: string, ttl: number) =>
        new AccessTokens(TEST_SECRET, ttl)
          .sign({ userId: "alice", orgId: "org-sdk", permissions: { [roomId]: ["room:write"] }, userInfo: {} })
          .then((t) => t.token);
      const c = createClient({
        url: server.collabUrl,
        reconnect: FAST_RECONNECT,
        authEndpoint: async (roomId) => {
          if (roomId === undefined) throw new Error("this test opens no inbox");
          const n = ++calls[roomId]!;
          if (roomId === steady) return sign(roomId, 60);
          // A 2-second token whose scheduled refresh fails: the server closes this room at expiry.
          if (n === 1) return sign(roomId, 2);
          if (n === 2) throw new Error("the app's backend is briefly down");
          return sign(roomId, 60);
        },
      });
      clients.push(c);
      const other = c.enterRoom(steady);
      await other.waitUntilSynced();
      const room = c.enterRoom(expiring);
      await room.waitUntilSynced();
      await waitFor(() => room.getStatus() === "connected", 5000, "connected");
      const statuses: Status[] = [];
      const otherStatuses: Status[] = [];
      const errors: string[] = [];
      room.events.status.subscribe((s) => statuses.push(s));
      other.events.status.subscribe((s) => otherStatuses.push(s));
      room.events.error.subscribe((e) => errors.push(e.code));

      await waitFor(() => statuses.length >= 2 && room.getStatus() === "connected", 10_000, "back with a new token");
      expect(statuses).to.deep.equal(["reconnecting", "connected"]);
      expect(errors).to.include("token_refused");
      expect(calls[expiring]).to.equal(3);
      // The socket stayed open for the other room all along: one socket, both rooms on it.
      expect(otherStatuses).to.deep.equal([]);
      expect(other.getStatus()).to.equal("connected");
      expect(server.app.hocuspocus.getConnectionsCount()).to.equal(1);
      room.doc.getText("content").insert(0, "after the new token");
      await waitFor(() => !room.hasUnsyncedChanges(), 5000, "edit acknowledged");
    });

    it("a token the server keeps refusing ends refused after a bounded number of new tokens", async function () {
      this.timeout(20_000);
      let fetched = 0;
      const forged = new AccessTokens("not-the-server-secret-not-the-server-secret", 60);
      const roomId = `forged-${randomUUID()}`;
      const c = createClient({
        url: server.collabUrl,
        reconnect: FAST_RECONNECT,
        authEndpoint: async () => {
          fetched++;
          return (await forged.sign({ userId: "alice", orgId: "org-sdk", permissions: { [roomId]: ["room:write"] }, userInfo: {} })).token;
        },
      });
      clients.push(c);
      const errors: string[] = [];
      c.events.error.subscribe((e) => errors.push(e.code));
      const room = c.enterRoom(roomId);
      const statuses: Status[] = [];
      room.events.status.subscribe((s) => statuses.push(s));
      await waitFor(() => room.getStatus() === "refused", 15_000, "refused");
      await new Promise((r) => setTimeout(r, 600));
      expect(statuses).to.deep.equal(["refused"]);
      expect(fetched).to.equal(DEFAULT_RETRY.attempts + 1);
      expect(errors).to.deep.equal(Array(DEFAULT_RETRY.attempts + 1).fill("token_refused"));
      expect(room.provider.isAttached).to.equal(false);
    });

    it("refreshes the token before it expires without a visible disconnect", async function () {
      this.timeout(30_000);
      const roomId = `refresh-${randomUUID()}`;
      const c = createClient({ url: server.collabUrl, authEndpoint: backend.url("alice"), reconnect: FAST_RECONNECT });
      clients.push(c);
      const room = c.enterRoom(roomId);
      const statuses: Status[] = [];
      room.events.status.subscribe((s) => statuses.push(s));
      let refreshed = 0;
      room.events.tokenRefreshed.subscribe(() => refreshed++);
      await room.waitUntilSynced();
      await waitFor(() => room.getStatus() === "connected", 5000, "connected");
      statuses.length = 0;

      // Three token lifetimes: without refresh the server closes the connection after the first.
      await new Promise((r) => setTimeout(r, 8000));
      expect(statuses, "no status change while tokens were refreshed").to.deep.equal([]);
      expect(refreshed).to.be.at.least(2);
      expect(backend.issued("alice")).to.be.at.least(3);
      expect(server.app.hocuspocus.getConnectionsCount()).to.equal(1);

      // The connection still carries edits both ways.
      const observer = connectProvider(server.collabUrl, roomId, await new AccessTokens(TEST_SECRET, 60).sign({
        userId: "observer",
        orgId: "org-sdk",
        permissions: { [roomId]: ["room:write"] },
        userInfo: {},
      }).then((t) => t.token));
      providers.push(observer);
      await waitForSynced(observer);
      room.doc.getText("content").insert(0, "still here");
      await waitFor(() => observer.text.toString() === "still here", 5000, "edit after refreshes");
    });

    it("the server closes a connection whose token expired without a refresh (4401 token_expired)", async function () {
      this.timeout(15_000);
      const roomId = `expiry-${randomUUID()}`;
      const { token } = await new AccessTokens(TEST_SECRET, 2).sign({
        userId: "mallory",
        orgId: "org-sdk",
        permissions: { [roomId]: ["room:write"] },
        userInfo: {},
      });
      const p = connectProvider(server.collabUrl, roomId, token);
      providers.push(p);
      const closes: Array<{ code?: number; reason?: string }> = [];
      p.provider.on("close", ({ event }: { event: { code?: number; reason?: string } }) => closes.push(event));
      await waitForSynced(p);
      await waitFor(() => closes.some((e) => e.reason === "token_expired"), 8000, "token_expired close");
      await waitFor(() => closes.some((e) => e.code === 4401), 3000, "socket closed with 4401");
    });

    it("a /yjs (y-websocket) connection, which cannot refresh, is not cut off when its token expires", async function () {
      this.timeout(15_000);
      const roomId = `yws-expiry-${randomUUID()}`;
      const { token } = await new AccessTokens(TEST_SECRET, 2).sign({
        userId: "legacy",
        orgId: "org-sdk",
        permissions: { [roomId]: ["room:write"] },
        userInfo: {},
      });
      const client = connectYws(server.httpUrl, roomId, token);
      try {
        await waitFor(() => client.provider.synced, 5000, "y-websocket sync");
        await new Promise((r) => setTimeout(r, 3500)); // past expiry and a sweep
        expect(client.provider.wsconnected).to.equal(true);
        expect(server.app.hocuspocus.getConnectionsCount()).to.equal(1);
      } finally {
        client.destroy();
      }
    });

    it("a refreshed token naming another user is refused on the live connection (token_mismatch)", async function () {
      this.timeout(15_000);
      const roomId = `mismatch-${randomUUID()}`;
      let calls = 0;
      const tokens = new AccessTokens(TEST_SECRET, 3);
      const c = createClient({
        url: server.collabUrl,
        reconnect: FAST_RECONNECT,
        authEndpoint: async () =>
          (await tokens.sign({ userId: calls++ === 0 ? "alice" : "eve", orgId: "org-sdk", permissions: { [roomId]: ["room:write"] }, userInfo: {} }))
            .token,
      });
      clients.push(c);
      const room = c.enterRoom(roomId);
      const reasons: string[] = [];
      room.provider.on("close", ({ event }: { event: { reason?: string } }) => reasons.push(event.reason ?? ""));
      await room.waitUntilSynced();
      await waitFor(() => reasons.includes("token_mismatch"), 8000, "the refresh refused");
    });
  });

  describe("refusals and reconnection settings", () => {
    let server: TestServer;
    let backend: AuthBackend;
    before(async () => {
      server = await startServer();
      backend = await startAuthBackend({ permissions: { "some-other-room": ["room:write"] } });
    });
    after(async () => {
      await backend.close();
      await server.close();
    });

    it("a room the token does not grant ends refused with the server's reason", async () => {
      const c = createClient({ url: server.collabUrl, authEndpoint: backend.url("alice"), reconnect: FAST_RECONNECT });
      clients.push(c);
      const errors: string[] = [];
      c.events.error.subscribe((e) => errors.push(e.code));
      const room = c.enterRoom(`not-granted-${randomUUID()}`);
      const statuses: Status[] = [];
      room.events.status.subscribe((s) => statuses.push(s));
      await waitFor(() => room.getStatus() === "refused", 5000, "refused");
      // It stays refused: no retry loop re-sends the token, no token is fetched again.
      await new Promise((r) => setTimeout(r, 500));
      expect(statuses).to.deep.equal(["refused"]);
      expect(errors).to.deep.equal(["room_not_granted"]);
      expect(backend.issued("alice")).to.equal(1);
      expect(room.provider.isAttached).to.equal(false);
      room.leave();
      expect(room.getStatus()).to.equal("disconnected");
      // The client still works for a room it may enter, on a new socket.
      const granted = c.enterRoom("some-other-room");
      await granted.waitUntilSynced();
      expect(granted.getStatus()).to.equal("connected");
    });

    it("a room refused on a shared socket leaves it to the others", async () => {
      const c = createClient({ url: server.collabUrl, authEndpoint: backend.url("alice"), reconnect: FAST_RECONNECT });
      clients.push(c);
      const granted = c.enterRoom("some-other-room");
      await granted.waitUntilSynced();
      const statuses: Status[] = [];
      granted.events.status.subscribe((s) => statuses.push(s));
      const refused = c.enterRoom(`not-granted-${randomUUID()}`);
      await waitFor(() => refused.getStatus() === "refused", 5000, "refused");
      expect(refused.provider.configuration.websocketProvider).to.equal(granted.provider.configuration.websocketProvider);
      await new Promise((r) => setTimeout(r, 300));
      expect(statuses).to.deep.equal([]);
      expect(granted.provider.configuration.websocketProvider.shouldConnect).to.equal(true);
      granted.doc.getText("content").insert(0, "still on the socket");
      await waitFor(() => !granted.hasUnsyncedChanges(), 5000, "edit acknowledged");
    });

    it("reconnects with exponential backoff and jitter by default", () => {
      const c = createClient({ url: server.collabUrl, authEndpoint: backend.url("alice") });
      clients.push(c);
      const room = c.enterRoom("some-other-room");
      const socket = room.provider.configuration.websocketProvider.configuration;
      expect(socket).to.include({ delay: 1000, factor: 2, minDelay: 1000, maxDelay: 30_000, jitter: true, maxAttempts: 0 });
      expect(socket.url).to.equal(`${server.collabUrl}`);
    });
  });

  describe("a server that is killed and restarted", () => {
    let child: ChildServer | null = null;
    let backend: AuthBackend;
    before(async () => {
      backend = await startAuthBackend();
    });
    after(async () => {
      await child?.stop();
      await backend.close();
    });

    it("reconnects on the same port and loses no edit made while offline", async function () {
      this.timeout(60_000);
      const roomId = `restart-${randomUUID()}`;
      child = await spawnServer();
      const port = child.port;
      const a = createClient({ url: child.collabUrl, authEndpoint: backend.url("alice"), reconnect: FAST_RECONNECT });
      clients.push(a);
      const room = a.enterRoom(roomId);
      const statuses: Status[] = [];
      room.events.status.subscribe((s) => statuses.push(s));
      await room.waitUntilSynced();
      const text = room.doc.getText("content");
      text.insert(0, "before ");
      await waitFor(() => !room.hasUnsyncedChanges(), 5000, "first edit acknowledged");

      await child.kill();
      child = null;
      await waitFor(() => room.getStatus() === "reconnecting", 5000, "reconnecting");
      text.insert(text.length, "offline");
      expect(room.hasUnsyncedChanges()).to.equal(true);

      child = await spawnServer({ PORT: String(port) });
      await waitFor(() => room.getStatus() === "connected", 15_000, "reconnected");
      await waitFor(() => !room.hasUnsyncedChanges(), 10_000, "offline edit acknowledged");
      expect(statuses).to.include.ordered.members(["connected", "reconnecting", "connected"]);

      const b = createClient({ url: child.collabUrl, authEndpoint: backend.url("bob"), reconnect: FAST_RECONNECT });
      clients.push(b);
      const roomB = b.enterRoom(roomId);
      await roomB.waitUntilSynced();
      await waitFor(() => roomB.doc.getText("content").toString() === "before offline", 5000, "second client sees both edits");
    });
  });
});
