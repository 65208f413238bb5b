/**
 * Monthly active users counted across two real server processes sharing Redis and PostgreSQL:
 * with a limit of 2 (an operator's Enterprise override), users on either process fill the same
 * count, so a third new user is refused at connect on both, over /collab and /yjs, with 4402
 * plan_limit_reached, while users already counted this month reconnect on either process. Each
 * user gets one usage_user_days row for the day, whichever process they used.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { closedWith } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase } from "../../helpers/documents.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Database } from "../../../db/index.ts";

const ROOM = "shared";

describe("monthly active users across two processes with Redis", function () {
  this.timeout(90_000);
  let db: Database;
  let orgId: string;
  const servers: ChildServer[] = [];
  const clients: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    await ensureTestDatabase();
    db = openDatabase(testDatabaseUrl());
    await migrate(db.sequelize);
  });
  after(() => db?.close());
  beforeEach(async () => {
    await truncateAll();
    orgId = randomUUID();
    await db.models.Organization.create({ id: orgId, name: "Metered", planOverride: "enterprise", mauLimitOverride: 2 });
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
    for (const s of servers.splice(0)) if (s.process.exitCode === null && s.process.signalCode === null) await s.kill();
  });

  async function join(server: ChildServer, userId: string): Promise<TestProvider> {
    const c = connectProvider(server.collabUrl, ROOM, await mintToken({ userId, orgId }));
    clients.push(c);
    await waitForSynced(c, 10_000);
    return c;
  }
  async function refused(server: ChildServer, userId: string): Promise<{ code: number; reason: string }> {
    const s = await openRawSocket(server.collabUrl);
    sockets.push(s);
    s.send(authFrame(ROOM, await mintToken({ userId, orgId })));
    return closedWith(s.closed, 10_000);
  }

  it("admits two users on different processes, refuses a third on both (4402), and lets counted users reconnect anywhere", async () => {
    const prefix = `sf-test-${randomUUID()}`;
    const env = { REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix, USAGE_FLUSH_MS: "200" };
    const [s1, s2] = await Promise.all([spawnServer(env), spawnServer(env)]);
    servers.push(s1, s2);

    const alice = await join(s1, "alice");
    await join(s2, "bob");
    expect(await refused(s1, "carol")).to.deep.equal({ code: 4402, reason: "plan_limit_reached: 2 monthly active users" });
    expect(await refused(s2, "carol")).to.deep.equal({ code: 4402, reason: "plan_limit_reached: 2 monthly active users" });
    const yws = connectYws(s2.httpUrl, ROOM, await mintToken({ userId: "dave", orgId }));
    ywsClients.push(yws);
    await waitFor(() => yws.closed !== null, 10_000, "the /yjs refusal");
    expect(yws.closed).to.deep.equal({ code: 4402, reason: "plan_limit_reached: 2 monthly active users" });

    // Already counted this month: reconnecting works, on the other process too.
    alice.destroy();
    const again = await join(s2, "alice");
    again.text.insert(0, "still here");
    const bobAgain = await join(s1, "bob");
    await waitFor(() => bobAgain.text.toString() === "still here", 10_000, "the counted users to keep editing together");
    const ok = await openRawSocket(s1.collabUrl);
    sockets.push(ok);
    ok.send(authFrame(ROOM, await mintToken({ userId: "bob", orgId })));
    await waitForAuthenticated(ok);

    const rows = async () => (await db.models.UsageUserDay.findAll({ where: { orgId }, order: [["userId", "ASC"]] })).map((r) => r.userId);
    for (let i = 0; i < 100 && (await rows()).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await rows()).to.deep.equal(["alice", "bob"]);
  });
});
