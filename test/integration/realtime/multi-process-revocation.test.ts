/**
 * Revocation across processes: two real server processes share PostgreSQL and Redis. Revoking a
 * key, removing or demoting a member and deleting a room on process A close the affected sockets
 * on process B within 2 s (B's 5-second issuer cache notwithstanding), and a room's
 * maxParticipants counts the connections of every process.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { spawnServer, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { ApiClient, closedWith, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored } from "../../helpers/documents.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Database } from "../../../db/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("revocation across two server processes with Redis", function () {
  this.timeout(90_000);
  let mailbox: Mailbox;
  let db: Database;
  let a: ChildServer;
  let b: ChildServer;
  let team: Team;
  let prefix: string;
  const providers: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    await ensureTestDatabase();
    db = openDatabase(testDatabaseUrl());
    await migrate(db.sequelize);
    mailbox = await startMailbox();
    prefix = `sf-test-${randomUUID()}`;
    const env = {
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_PREFIX: prefix,
      SMTP_URL: mailbox.smtpUrl,
      BCRYPT_ROUNDS: "4",
      AUTH_RATE_LIMIT: "100000",
    };
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(a.httpUrl, mailbox);
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    for (const s of [a, b]) if (s && s.process.exitCode === null && s.process.signalCode === null) await s.stop();
    await mailbox?.close();
    await db?.close();
  });

  const orgPath = (suffix = "") => `/organizations/${team.orgId}${suffix}`;
  async function mint(client: ApiClient, permissions: Record<string, string[]>, userId = "end-user"): Promise<string> {
    const r = await client.post(orgPath("/access-tokens"), { userId, permissions });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.token;
  }
  async function rawOn(server: ChildServer, room: string, token: string): Promise<RawSocket> {
    const socket = await openRawSocket(server.collabUrl);
    sockets.push(socket);
    socket.send(authFrame(room, token));
    return socket;
  }
  function ywsOn(server: ChildServer, room: string, token: string): YwsClient {
    const c = connectYws(server.httpUrl, room, token);
    ywsClients.push(c);
    return c;
  }
  /** Open a /collab and a /yjs connection on B with `token`; B caches the issuer as valid. */
  async function openOnB(room: string, token: string): Promise<{ collab: RawSocket; yws: YwsClient }> {
    const collab = await rawOn(b, room, token);
    await waitForAuthenticated(collab);
    const yws = ywsOn(b, room, token);
    await waitFor(() => yws.provider.synced, 5000, "y-websocket on B to sync");
    return { collab, yws };
  }
  /** Both of B's connections close with `expected` within 2 s of `since`. */
  async function closedOnBWithin2s(open: { collab: RawSocket; yws: YwsClient }, since: number, expected: { code: number; reason: string }): Promise<void> {
    expect(await closedWith(open.collab.closed, 2000)).to.deep.equal(expected);
    await waitFor(() => open.yws.closed !== null, Math.max(0, since + 2000 - Date.now()), "the y-websocket connection on B to close");
    expect(open.yws.closed).to.deep.equal(expected);
    expect(Date.now() - since).to.be.below(2000);
  }

  it("revoking an API key on A closes B's connections with its tokens within 2 s", async () => {
    await team.apiKey.client.post(orgPath("/rooms"), { id: "room" });
    const open = await openOnB("room", await mint(team.apiKey.client, { room: ["room:write"] }));
    // Junk on the control channel is ignored; nobody's connection is touched by it.
    const redis = new Redis("redis://127.0.0.1:6379");
    try {
      for (const junk of ["not json", "{}", JSON.stringify({ origin: "x", event: { type: "api_key_revoked" } }), JSON.stringify({ origin: "x", event: { type: "drop_all" } })]) {
        await redis.publish(`${prefix}:control`, junk);
      }
    } finally {
      redis.disconnect();
    }
    await sleep(200);
    expect(open.collab.ws.readyState).to.equal(open.collab.ws.OPEN);
    const since = Date.now();
    expect((await team.owner.client.delete(orgPath(`/api-keys/${team.apiKey.id}`))).status).to.equal(200);
    await closedOnBWithin2s(open, since, { code: 4401, reason: "token_revoked" });
    expect(b.process.exitCode).to.equal(null);
  });

  it("removing a member on A closes B's connections with the tokens it minted within 2 s", async () => {
    await team.owner.client.post(orgPath("/rooms"), { id: "room" });
    const open = await openOnB("room", await mint(team.admin.client, { room: ["room:write"] }));
    const since = Date.now();
    expect((await team.owner.client.delete(orgPath(`/members/${team.admin.user.id}`))).status).to.equal(204);
    await closedOnBWithin2s(open, since, { code: 4401, reason: "token_revoked" });
  });

  it("demoting an Admin on A closes B's connections with tokens beyond its new role within 2 s", async () => {
    await team.owner.client.post(orgPath("/rooms"), { id: "room" });
    const token = await mint(team.admin.client, { "*": ["room:write"] });
    const open = await openOnB("room", token);
    const since = Date.now();
    expect((await team.owner.client.patch(orgPath(`/members/${team.admin.user.id}`), { role: "member" })).status).to.equal(200);
    await closedOnBWithin2s(open, since, { code: 4401, reason: "token_revoked" });
    // B refuses the token at connect too, without waiting for its cache to lapse.
    const again = await rawOn(b, "room", token);
    expect(await closedWith(again.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });
  });

  it("deleting a room on A closes its connections on B with 4404 within 2 s, and its content does not come back", async () => {
    await team.apiKey.client.post(orgPath("/rooms"), { id: "doomed" });
    const token = await mint(team.apiKey.client, { doomed: ["room:write"] });
    const hp = connectProvider(b.collabUrl, "doomed", token);
    providers.push(hp);
    await waitForSynced(hp);
    hp.text.insert(0, "secret written on B");
    await waitForAcked(hp);
    const open = await openOnB("doomed", token);
    await waitFor(() => open.yws.text.toString() === "secret written on B", 5000, "y-websocket on B to see the content");

    const since = Date.now();
    expect((await team.apiKey.client.delete(orgPath("/rooms/doomed"))).status).to.equal(204);
    await closedOnBWithin2s(open, since, { code: 4404, reason: "room_deleted" });
    // The Hocuspocus provider on B keeps retrying; B refuses it, so nothing is stored again.
    await sleep(1500);
    const stored = await readStored(db, team.orgId, "doomed");
    expect(stored.snapshot).to.equal(null);
    expect(stored.log).to.deep.equal([]);
    expect((await team.apiKey.client.get(orgPath("/rooms/doomed"))).status).to.equal(404);
    // A fresh token creates the room anew, empty, on either process.
    const fresh = connectProvider(a.collabUrl, "doomed", await mint(team.apiKey.client, { doomed: ["room:write"] }, "newcomer"));
    providers.push(fresh);
    await waitForSynced(fresh);
    await sleep(500);
    expect(fresh.text.toString()).to.equal("");
  });

  it("maxParticipants counts the connections of every process", async () => {
    await team.apiKey.client.post(orgPath("/rooms"), { id: "solo", maxParticipants: 1 });
    const token = await mint(team.apiKey.client, { solo: ["room:write"] });
    const first = await rawOn(a, "solo", token);
    await waitForAuthenticated(first);
    // Presence on B sees A's connection (shared through Redis).
    const onB = new ApiClient(`${b.httpUrl}/api`, team.apiKey.secret);
    let present: unknown[] = [];
    for (let i = 0; i < 50 && present.length === 0; i++) {
      const r = await onB.get(orgPath("/rooms/solo/active-users"));
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      present = r.body.data;
      if (present.length === 0) await sleep(20);
    }
    expect(present).to.have.length(1);
    const second = await rawOn(b, "solo", token);
    expect(await closedWith(second.closed)).to.deep.equal({ code: 4005, reason: "room_full" });
    // The seat frees up across processes too.
    await first.close();
    sockets.splice(sockets.indexOf(first), 1);
    await sleep(300);
    const third = await rawOn(b, "solo", token);
    await waitForAuthenticated(third);
  });
});
