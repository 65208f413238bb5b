/**
 * The live log across server processes through Redis: two real processes share PostgreSQL and
 * Redis; what happens on B (a provider connecting, a REST comment write) reaches a stream open on
 * A and A's history, and a stream resumes on either process after an id the other sent. The
 * history in Redis is bounded (a capped stream per organisation).
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { spawnServer, startServer, mintToken, type ChildServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { ApiClient, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openSse, type SseStream } from "../../helpers/sse.ts";
import type { LiveLogEntry } from "../../../server/domain/live-log/live-log.ts";

const REDIS_URL = "redis://127.0.0.1:6379";

describe("live log across two server processes with Redis", function () {
  this.timeout(90_000);
  let mailbox: Mailbox;
  let a: ChildServer;
  let b: ChildServer;
  let team: Team;
  let prefix: string;
  const providers: TestProvider[] = [];
  const streams: SseStream[] = [];

  before(async () => {
    await ensureTestDatabase();
    await truncateAll();
    mailbox = await startMailbox();
    prefix = `sf-test-${randomUUID()}`;
    const env = { REDIS_URL, REDIS_PREFIX: prefix, SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" };
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    team = await createTeam(a.httpUrl, mailbox);
  });
  afterEach(() => {
    while (providers.length) providers.pop()!.destroy();
    while (streams.length) streams.pop()!.close();
  });
  after(async () => {
    for (const s of [a, b]) if (s && s.process.exitCode === null && s.process.signalCode === null) await s.stop();
    await mailbox?.close();
  });

  async function stream(server: ChildServer, query: string, headers: Record<string, string> = {}): Promise<SseStream<LiveLogEntry>> {
    const s = await openSse<LiveLogEntry>(`${server.httpUrl}/api/organizations/${team.orgId}/logs/stream${query}`, {
      authorization: `Bearer ${team.apiKey.secret}`,
      ...headers,
    });
    expect(s.status, JSON.stringify(s.error)).to.equal(200);
    streams.push(s);
    return s;
  }

  it("delivers an entry recorded on B to a stream on A, and keeps it in the shared history", async () => {
    const room = "across";
    const onA = await stream(a, `?room_id=${room}`);
    const token = await mintToken({ userId: "bea", orgId: team.orgId, permissions: { [room]: ["room:write"] } });
    const p = connectProvider(b.collabUrl, room, token);
    providers.push(p);
    await waitForSynced(p);
    const [connected] = await onA.waitForEvents(1);
    expect(connected!.data).to.include({ kind: "connect", org_id: team.orgId, room_id: room, user_id: "bea" });

    // A comment written over REST on B, on A's stream.
    const onBApi = new ApiClient(`${b.httpUrl}/api`, team.apiKey.secret);
    const created = await onBApi.post(`/organizations/${team.orgId}/rooms/${room}/threads`, { userId: "bea", body: "from B" });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await onA.waitForEvents(2);
    expect(onA.events[1]!.data).to.include({ kind: "comment", user_id: "bea" });

    // Both processes read the same history, newest first.
    const list = await team.apiKey.client.get(`/organizations/${team.orgId}/logs?room_id=${room}`);
    expect(list.body.data.map((e: LiveLogEntry) => e.kind)).to.deep.equal(["comment", "connect"]);
    expect(list.body.data.map((e: LiveLogEntry) => e.id)).to.deep.equal([onA.events[1]!.id, connected!.id]);

    // A stream on B resumes after an id A sent.
    const onB = await stream(b, `?room_id=${room}`, { "last-event-id": connected!.id! });
    const [resumed] = await onB.waitForEvents(1);
    expect(resumed!.id).to.equal(onA.events[1]!.id);

    // Each process follows the organisation's channel only while a stream of its own is open.
    const redis = new Redis(REDIS_URL);
    try {
      const channel = `${prefix}:live-log:${team.orgId}:events`;
      const followers = async () => Number(((await redis.pubsub("NUMSUB", channel)) as [string, number])[1]);
      expect(await followers()).to.equal(2);
      onA.close();
      onB.close();
      for (let i = 0; i < 100 && (await followers()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await followers()).to.equal(0);
    } finally {
      await redis.quit();
    }
  });
});

describe("live log history in Redis", () => {
  let server: TestServer;
  let redis: Redis;
  let prefix: string;

  before(async () => {
    prefix = `sf-test-${randomUUID()}`;
    server = await startServer({ REDIS_URL, REDIS_PREFIX: prefix, LIVE_LOG_HISTORY: "20" });
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await server?.close();
    await redis?.quit();
  });

  it("is bounded per organisation, in what it answers and in what Redis keeps", async () => {
    const orgId = `org-${randomUUID().slice(0, 8)}`;
    const log = server.app.liveLog;
    for (let i = 0; i < 300; i++) log.record({ orgId, roomId: "r", kind: "webhook", code: 200, detail: `delivery ${i}` });
    let list: LiveLogEntry[] = [];
    for (let i = 0; i < 200 && list[0]?.detail !== "delivery 299"; i++) {
      list = await log.list(orgId, {}, 1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(list).to.have.length(20);
    expect(list.map((e) => e.detail)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `delivery ${299 - i}`));
    // XADD MAXLEN ~ trims whole stream nodes: a little over the history, never the 300 written.
    const kept = await redis.xlen(`${prefix}:live-log:${orgId}`);
    expect(kept).to.be.at.least(20).and.at.most(120);
    expect(await redis.pttl(`${prefix}:live-log:${orgId}`)).to.be.greaterThan(0);
  });
});
