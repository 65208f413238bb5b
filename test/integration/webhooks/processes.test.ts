/**
 * Webhooks across real server processes on PostgreSQL: an event committed before `kill -9` is still
 * delivered by the restarted server (the outbox row is durable, not a timer in memory), and two
 * processes sharing the database (and Redis) deliver each event exactly once between them
 * (FOR UPDATE SKIP LOCKED claims).
 */
import { expect } from "chai";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { ensureTestDatabase, truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { ApiClient, createTeam, startMailbox, type Mailbox } from "../../helpers/accounts.ts";
import { documentedVerify, startReceiver, type Receiver } from "../../helpers/webhook-receiver.ts";
import { openDatabase } from "../../helpers/documents.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Database } from "../../../db/index.ts";

describe("webhooks across processes", function () {
  this.timeout(90_000);
  let mailbox: Mailbox;
  let receiver: Receiver;
  let db: Database;
  const servers: ChildServer[] = [];
  const providers: TestProvider[] = [];

  async function spawn(extra: Record<string, string> = {}): Promise<ChildServer> {
    const server = await spawnServer({
      SMTP_URL: mailbox.smtpUrl,
      BCRYPT_ROUNDS: "4",
      AUTH_RATE_LIMIT: "100000",
      WEBHOOK_ALLOW_PRIVATE: "1",
      ...extra,
    });
    servers.push(server);
    return server;
  }

  before(async () => {
    mailbox = await startMailbox();
    await ensureTestDatabase();
    db = openDatabase(process.env.TEST_DATABASE_URL!);
    await migrate(db.sequelize);
  });
  beforeEach(async () => {
    await truncateAll();
    receiver = await startReceiver();
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (servers.length) await servers.pop()!.kill();
    await receiver.close();
  });
  after(async () => {
    await db.close();
    await mailbox.close();
  });

  it("delivers, after a restart, an event whose server was killed -9 before delivering it", async () => {
    const verify = await documentedVerify();
    // A long window: the ydocUpdated row is due 4 s after the edit, and the server dies before.
    const first = await spawn({ WEBHOOK_YDOC_COALESCE_MS: "4000" });
    const team = await createTeam(first.httpUrl, mailbox);
    const created = await team.owner.client.post(`/organizations/${team.orgId}/webhooks`, { url: receiver.url, events: ["ydocUpdated"] });
    expect(created.status).to.equal(201);
    const token = await mintToken({ orgId: team.orgId, userId: "alice" });
    const alice = connectProvider(first.collabUrl, "crash-room", token);
    providers.push(alice);
    await waitForSynced(alice);
    alice.text.insert(0, "before the crash");
    await waitForAcked(alice);
    let pending = 0;
    for (let i = 0; i < 100 && pending === 0; i++) {
      pending = await db.models.WebhookDelivery.count({ where: { eventType: "ydocUpdated", status: "pending" } });
      if (pending === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(pending).to.equal(1);
    await first.kill();
    expect(receiver.ofType("ydocUpdated")).to.have.length(0);

    await spawn({ WEBHOOK_YDOC_COALESCE_MS: "4000" });
    await waitFor(() => receiver.ofType("ydocUpdated").length === 1, 15_000, "ydocUpdated after the restart");
    const [delivery] = receiver.ofType("ydocUpdated");
    expect(verify(created.body.webhook.secret, delivery!.headers, delivery!.body).data).to.include({ roomId: "crash-room", orgId: team.orgId });
  });

  it("two processes on one database and Redis deliver each event once", async () => {
    const redis = { REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: `sf-webhooks-${process.pid}-${Date.now()}` };
    const a = await spawn(redis);
    const b = await spawn(redis);
    const team = await createTeam(a.httpUrl, mailbox);
    // A slow receiver, so both processes' workers have rows to fight over.
    receiver.respond = async () => {
      await new Promise((r) => setTimeout(r, 20));
      return 204;
    };
    const created = await team.owner.client.post(`/organizations/${team.orgId}/webhooks`, { url: receiver.url, events: ["roomCreated"] });
    expect(created.status).to.equal(201);
    const clients = [a, b].map((s) => new ApiClient(`${s.httpUrl}/api`, team.apiKey.secret));
    const total = 40;
    const answers = await Promise.all(Array.from({ length: total }, (_, i) => clients[i % 2]!.post(`/organizations/${team.orgId}/rooms`, { id: `room-${i}` })));
    expect(answers.filter((r) => r.status !== 201).map((r) => JSON.stringify(r.body)).slice(0, 3)).to.deep.equal([]);
    const distinct = () => new Set(receiver.received.map((r) => r.headers["webhook-id"])).size;
    await waitFor(() => distinct() === total, 20_000, `${total} deliveries`).catch((error: Error) => {
      throw new Error(`${error.message}: ${distinct()} distinct of ${receiver.received.length} received`);
    });
    // Anything sent twice would have arrived by now: both workers poll every 500 ms.
    await new Promise((r) => setTimeout(r, 1500));
    expect(receiver.received).to.have.length(total);
    const rooms = receiver.received.map((r) => r.event.data.roomId).sort();
    expect(new Set(rooms).size).to.equal(total);
  });
});
