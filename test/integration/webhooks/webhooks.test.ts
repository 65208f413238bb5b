/**
 * Outbound webhooks against a real receiver on 127.0.0.1: every event type arrives and verifies with
 * the code of docs/webhooks.md; failed attempts are retried with the same webhook-id; deliveries are
 * replayed; a rolled secret's predecessor keeps signing; a slow receiver does not hold up the room;
 * an endpoint that keeps failing is disabled and its Owners told; management is Owner/Admin/API key.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { tempSqliteUrl, truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { createTeam, startMailbox, type ApiClient, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { documentedVerify, startReceiver, type Receiver } from "../../helpers/webhook-receiver.ts";
import { WEBHOOK_EVENTS } from "../../../server/domain/webhooks/webhook-events.ts";

describe("webhooks", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let receiver: Receiver;
  let team: Team;
  const providers: TestProvider[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({
      SMTP_URL: mailbox.smtpUrl,
      BCRYPT_ROUNDS: "4",
      AUTH_RATE_LIMIT: "100000",
      WEBHOOK_ALLOW_PRIVATE: "1",
      WEBHOOK_RETRY_SCHEDULE_MS: "100,100,100",
      WEBHOOK_YDOC_COALESCE_MS: "300",
      WEBHOOK_TIMEOUT_MS: "5000",
      WEBHOOK_DISABLE_AFTER_MS: "1500",
      // A lane of 8: "keeps delivering to other endpoints" fills the hung one's.
      WEBHOOK_CONCURRENCY_PER_ENDPOINT: "8",
    });
  });
  beforeEach(async () => {
    await truncateAll();
    receiver = await startReceiver();
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    await receiver.close();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const base = () => `/organizations/${team.orgId}/webhooks`;
  async function register(client: ApiClient = team.owner.client, events: readonly string[] = WEBHOOK_EVENTS): Promise<{ id: string; secret: string }> {
    const created = await client.post(base(), { url: receiver.url, events, description: "test receiver" });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    return created.body.webhook;
  }
  async function connect(roomId: string, userId = "alice"): Promise<TestProvider> {
    const token = await mintToken({ orgId: team.orgId, userId, permissions: { "*": ["room:write", "comments:write"] } });
    const p = connectProvider(server.collabUrl, roomId, token);
    providers.push(p);
    await waitForSynced(p);
    return p;
  }

  it("delivers every event type, each signed and verified by the documented code", async () => {
    const verify = await documentedVerify();
    const endpoint = await register(team.apiKey.client);
    const api = team.apiKey.client;
    const room = `/organizations/${team.orgId}/rooms/doc-1`;
    expect((await api.post(`/organizations/${team.orgId}/rooms`, { id: "doc-1" })).status).to.equal(201);
    const alice = await connect("doc-1");
    alice.text.insert(0, "hello");
    const thread = await api.post(`${room}/threads`, { userId: "alice", body: "first", id: "th1", commentId: "c1" });
    expect(thread.status, JSON.stringify(thread.body)).to.equal(201);
    expect((await api.post(`${room}/threads/th1/comments`, { userId: "bob", body: "reply", id: "c2" })).status).to.equal(201);
    expect((await api.post(`${room}/threads/th1/comments/c2`, { userId: "bob", body: "edited reply" })).status).to.equal(200);
    expect((await api.post(`${room}/threads/th1/comments/c1/add-reaction`, { userId: "bob", emoji: "👍" })).status).to.equal(200);
    expect((await api.post(`${room}/threads/th1/comments/c1/remove-reaction`, { userId: "bob", emoji: "👍" })).status).to.equal(200);
    expect((await api.post(`${room}/threads/th1/mark-as-resolved`, { userId: "alice" })).status).to.equal(200);
    expect((await api.request("DELETE", `${room}/threads/th1/comments/c2?userId=bob`)).status).to.equal(204);
    const triggered = await api.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId: "alice", kind: "$deployed", roomId: "doc-1" });
    expect(triggered.status, JSON.stringify(triggered.body)).to.equal(201);
    alice.destroy();
    await waitFor(() => receiver.ofType("userLeft").length > 0, 5000, "userLeft");
    expect((await api.request("DELETE", room)).status).to.equal(204);

    await waitFor(() => WEBHOOK_EVENTS.every((t) => receiver.ofType(t).length > 0), 10_000, `every event type (got ${[...new Set(receiver.received.map((r) => r.event.type))].join(", ")})`);
    for (const delivery of receiver.received) {
      const event = verify(endpoint.secret, delivery.headers, delivery.body);
      expect(event.data.orgId).to.equal(team.orgId);
      expect(Date.parse(String(event.data.createdAt))).to.be.a("number").and.not.NaN;
      expect(delivery.headers["webhook-id"]).to.match(/^msg_/);
      expect(() => verify(endpoint.secret, delivery.headers, delivery.body.replace("doc-1", "doc-2"))).to.throw("invalid signature");
    }
    const entered = receiver.ofType("userEntered")[0]!.event.data;
    expect(entered).to.include({ roomId: "doc-1", userId: "alice" });
    expect(entered.connectionId).to.be.a("string");
    expect(Date.parse(String(entered.enteredAt))).to.not.be.NaN;
    expect(receiver.ofType("userLeft")[0]!.event.data).to.include({ userId: "alice", connectionId: entered.connectionId });
    expect(receiver.ofType("threadCreated")[0]!.event.data).to.include({ roomId: "doc-1", threadId: "th1", createdBy: "alice" });
    expect(receiver.ofType("commentEdited")[0]!.event.data).to.include({ commentId: "c2", editedBy: "bob" });
    expect(receiver.ofType("reactionAdded")[0]!.event.data).to.include({ commentId: "c1", emoji: "👍", userId: "bob" });
    const deployed = receiver.ofType("notification").find((r) => r.event.data.kind === "$deployed");
    expect(deployed?.event.data).to.include({ userId: "alice", roomId: "doc-1" });
    expect(deployed?.event.data.inboxNotificationId).to.match(/^in_/);
    // The reply to alice's thread notified her too (a built-in kind).
    expect(receiver.ofType("notification").map((r) => r.event.data.kind)).to.include("reply");
    expect(receiver.ofType("roomDeleted")[0]!.event.data).to.include({ roomId: "doc-1" });

    // Late ones (a ydocUpdated due at its window's end) may still be on their way: wait for the log to settle.
    let log = await api.get(`${base()}/${endpoint.id}/deliveries?limit=100`);
    for (let i = 0; i < 50 && log.body.data.some((d: { status: string }) => d.status !== "succeeded"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      log = await api.get(`${base()}/${endpoint.id}/deliveries?limit=100`);
    }
    expect(log.status).to.equal(200);
    expect(log.body.data.length).to.equal(receiver.received.length);
    expect(log.body.data[0]).to.include({ status: "succeeded", attempts: 1, responseStatus: 204 });
    expect(log.body.data[0].latencyMs).to.be.a("number");
  });

  it("coalesces ydocUpdated to one per room per window", async () => {
    await register(undefined, ["ydocUpdated"]);
    const alice = await connect("busy");
    for (let i = 0; i < 20; i++) alice.text.insert(0, "x");
    await waitFor(() => receiver.ofType("ydocUpdated").length > 0, 5000, "ydocUpdated");
    await new Promise((r) => setTimeout(r, 700));
    const times = receiver.ofType("ydocUpdated").map((r) => Date.parse(String(r.event.data.updatedAt)));
    expect(times.length).to.be.at.most(2);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).to.be.at.least(300);
  });

  it("retries a failing receiver with the same webhook-id until it succeeds on the 4th attempt", async () => {
    const endpoint = await register(undefined, ["roomCreated"]);
    receiver.respond = (_r, index) => (index < 3 ? 503 : 200);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "retried" });
    await waitFor(() => receiver.received.length === 4, 10_000, "4 attempts");
    const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
    expect(ids.size).to.equal(1);
    const [delivery] = (await team.owner.client.get(`${base()}/${endpoint.id}/deliveries`)).body.data;
    const row = await server.app.db.models.WebhookDelivery.findByPk(delivery.id);
    expect(row!.status).to.equal("succeeded");
    expect(row!.attempts).to.equal(4);
    expect(row!.id).to.equal([...ids][0]);
  });

  it("records every delivery attempt in the organisation's live log", async () => {
    const endpoint = await register(undefined, ["roomCreated"]);
    receiver.respond = (_r, index) => (index < 1 ? 503 : 204);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "logged" });
    await waitFor(() => receiver.received.length === 2, 10_000, "2 attempts");
    const logs = () => team.owner.client.get(`/organizations/${team.orgId}/logs?kind=webhook`);
    let entries: Array<{ kind: string; room_id: string | null; code?: number; detail?: string }> = [];
    for (let i = 0; i < 50 && entries.length < 2; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      entries = (await logs()).body.data;
    }
    // Newest first: the success, then the refused first attempt.
    expect(entries.map((e) => e.code)).to.deep.equal([204, 503]);
    for (const entry of entries) {
      expect(entry).to.include({ kind: "webhook", room_id: "logged" });
      expect(entry.detail).to.contain("roomCreated").and.to.contain(endpoint.id);
    }
    expect(entries[0]!.detail).to.contain("attempt 2 delivered");
    expect(entries[1]!.detail).to.contain("attempt 1 failed: HTTP 503");
  });

  it("marks a delivery failed after the last retry, and replays it and a time range", async () => {
    const endpoint = await register(undefined, ["roomCreated"]);
    receiver.respond = () => 500;
    const since = new Date(Date.now() - 1000).toISOString();
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "r1" });
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "r2" });
    const failed = async () => (await team.owner.client.get(`${base()}/${endpoint.id}/deliveries?status=failed`)).body.data as Array<{ id: string; attempts: number; responseStatus: number }>;
    let rows: Array<{ id: string; attempts: number; responseStatus: number }> = [];
    await waitFor(() => receiver.received.length >= 8, 10_000, "every attempt");
    for (let i = 0; i < 50 && rows.length < 2; i++) {
      rows = await failed();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).to.have.length(2);
    expect(rows[0]).to.include({ attempts: 4, responseStatus: 500 });

    receiver.respond = () => 200;
    const one = await team.owner.client.post(`${base()}/${endpoint.id}/deliveries/${rows[0]!.id}/replay`, {});
    expect(one.status).to.equal(202);
    await waitFor(() => receiver.received.some((r, i) => i >= 8 && r.headers["webhook-id"] === rows[0]!.id), 5000, "replayed delivery");
    const range = await team.owner.client.post(`${base()}/${endpoint.id}/replay`, { since, until: new Date(Date.now() + 1000).toISOString() });
    expect(range.status).to.equal(202);
    expect(range.body.replayed).to.equal(1);
    await waitFor(() => receiver.received.some((r, i) => i >= 8 && r.headers["webhook-id"] === rows[1]!.id), 5000, "range replay");
    const bad = await team.owner.client.post(`${base()}/${endpoint.id}/replay`, { since: "yesterday" });
    expect(bad.status).to.equal(400);
  });

  it("signs with both the new and the old secret for 24 h after a roll", async () => {
    const verify = await documentedVerify();
    const endpoint = await register(undefined, ["roomCreated"]);
    const rolled = await team.owner.client.post(`${base()}/${endpoint.id}/roll-secret`, {});
    expect(rolled.status).to.equal(200);
    const fresh: string = rolled.body.webhook.secret;
    expect(fresh).to.match(/^whsec_/).and.not.equal(endpoint.secret);
    expect(Date.parse(rolled.body.webhook.previousSecretExpiresAt) - Date.now()).to.be.closeTo(24 * 3600 * 1000, 60_000);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "rolled" });
    await waitFor(() => receiver.received.length === 1, 5000, "delivery");
    const [delivery] = receiver.received;
    expect(delivery!.headers["webhook-signature"]!.split(" ")).to.have.length(2);
    expect(verify(fresh, delivery!.headers, delivery!.body).type).to.equal("roomCreated");
    expect(verify(endpoint.secret, delivery!.headers, delivery!.body).type).to.equal("roomCreated");
    expect(() => verify("whsec_" + Buffer.alloc(24).toString("base64"), delivery!.headers, delivery!.body)).to.throw("invalid signature");
  });

  it("sends a test event on request", async () => {
    const endpoint = await register(undefined, ["commentCreated", "roomCreated"]);
    const sent = await team.owner.client.post(`${base()}/${endpoint.id}/test`, {});
    expect(sent.status).to.equal(202);
    await waitFor(() => receiver.received.length === 1, 5000, "test delivery");
    expect(receiver.received[0]!.event).to.include({ type: "commentCreated", test: true });
  });

  it("keeps a room's edits flowing while the receiver hangs", async () => {
    await register(undefined, ["userEntered", "ydocUpdated"]);
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    receiver.respond = async () => {
      await hung;
      return 204;
    };
    const alice = await connect("slow", "alice");
    const bob = await connect("slow", "bob");
    await waitFor(() => receiver.open() > 0, 5000, "a held request");
    for (let i = 0; i < 10; i++) {
      alice.text.insert(alice.text.length, `a${i}`);
      await waitFor(() => bob.text.toString() === alice.text.toString(), 2000, "edit to reach bob");
    }
    expect(receiver.open()).to.be.greaterThan(0);
    release();
  });

  it("keeps delivering to other endpoints while one endpoint hangs", async () => {
    const healthy = await startReceiver();
    try {
      let release!: () => void;
      const hung = new Promise<void>((r) => (release = r));
      receiver.respond = async () => {
        await hung;
        return 204;
      };
      await register(undefined, ["roomCreated"]);
      expect((await team.owner.client.post(base(), { url: healthy.url, events: ["roomCreated"] })).status).to.equal(201);
      for (let i = 0; i < 12; i++) await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: `lane-${i}` });
      await waitFor(() => healthy.received.length === 12, 5000, "every delivery to the healthy endpoint");
      // Meanwhile the hanging endpoint holds its whole lane (8 requests), none answered.
      await waitFor(() => receiver.open() === 8, 5000, "the hung lane to be full");
      expect(receiver.received).to.have.length(8);
      release();
      await waitFor(() => receiver.received.length === 12, 5000, "the hung endpoint's deliveries after it recovers");
    } finally {
      await healthy.close();
    }
  });

  it("disables an endpoint that keeps failing and tells the Owners", async () => {
    receiver.respond = () => 500;
    const owner = team.owner.client;
    const endpoint = await register(undefined, ["roomCreated"]);
    let view: { enabled: boolean; disabledReason: string | null } = { enabled: true, disabledReason: null };
    // Failures keep coming (a room every 200 ms) until WEBHOOK_DISABLE_AFTER_MS has passed.
    for (let i = 0; i < 100 && view.enabled; i++) {
      await owner.post(`/organizations/${team.orgId}/rooms`, { id: `doomed-${i}` });
      await new Promise((r) => setTimeout(r, 200));
      view = (await owner.get(`${base()}/${endpoint.id}`)).body.webhook;
    }
    expect(view).to.include({ enabled: false, disabledReason: "failing" });
    let kinds: string[] = [];
    for (let i = 0; i < 50 && !kinds.includes("webhook_disabled"); i++) {
      const inbox = await owner.get(`/organizations/${team.orgId}/users/${team.owner.user.id}/inbox-notifications`);
      kinds = (inbox.body.data ?? []).map((n: { kind: string }) => n.kind);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(kinds).to.include("webhook_disabled");
    const admin = await team.admin.client.get(`/organizations/${team.orgId}/users/${team.admin.user.id}/inbox-notifications`);
    expect(admin.body.data.map((n: { kind: string }) => n.kind)).to.not.include("webhook_disabled");
  });

  it("prunes finished deliveries older than 30 days when a worker starts", async () => {
    const endpoint = await register(undefined, ["roomCreated"]);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "old" });
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "recent" });
    const { WebhookDelivery } = server.app.db.models;
    await waitFor(() => receiver.received.length === 2, 5000, "deliveries");
    const [old] = receiver.received.filter((r) => r.event.data.roomId === "old").map((r) => r.headers["webhook-id"]!);
    await server.app.db.sequelize.query("UPDATE webhook_deliveries SET created_at = :at WHERE id = :id", { replacements: { at: new Date(Date.now() - 31 * 24 * 3600 * 1000), id: old } });
    const second = await startServer({ WEBHOOK_ALLOW_PRIVATE: "1" });
    try {
      let left = 2;
      for (let i = 0; i < 50 && left === 2; i++) {
        left = await WebhookDelivery.count({ where: { endpointId: endpoint.id } });
        if (left === 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).to.equal(1);
      expect(await WebhookDelivery.findByPk(old)).to.equal(null);
    } finally {
      await second.close();
    }
  });

  it("lets Owners, Admins and API keys manage endpoints, not Members; hides other tenants' ids", async () => {
    const endpoint = await register(team.admin.client);
    expect(endpoint.secret).to.match(/^whsec_[A-Za-z0-9+/]+=*$/);
    const got = await team.owner.client.get(`${base()}/${endpoint.id}`);
    expect(got.status).to.equal(200);
    expect(got.body.webhook).to.not.have.property("secret");
    expect((await team.member.client.get(base())).status).to.equal(403);
    expect((await team.member.client.post(base(), { url: receiver.url, events: ["roomCreated"] })).status).to.equal(403);
    expect((await team.apiKey.client.patch(`${base()}/${endpoint.id}`, { events: ["roomDeleted"] })).body.webhook.events).to.deep.equal(["roomDeleted"]);
    const other = await createTeam(server.httpUrl, mailbox, "Other");
    expect((await other.owner.client.get(`/organizations/${other.orgId}/webhooks/${endpoint.id}`)).status).to.equal(404);
    expect((await other.owner.client.get(`${base()}/${endpoint.id}`)).status).to.equal(404);
    const bad = await team.owner.client.post(base(), { url: "ftp://example.com/", events: ["roomCreated"] });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("invalid_webhook_url");
    expect((await team.owner.client.post(base(), { url: receiver.url, events: ["nope"] })).status).to.equal(400);
    expect((await team.owner.client.post(`${base()}/${endpoint.id}/disable`, {})).body.webhook).to.include({ enabled: false, disabledReason: "manual" });
    expect((await team.owner.client.delete(`${base()}/${endpoint.id}`)).status).to.equal(204);
    expect((await team.owner.client.get(`${base()}/${endpoint.id}`)).status).to.equal(404);
    for (let i = 0; i < 20; i++) expect((await team.apiKey.client.post(base(), { url: receiver.url, events: ["roomCreated"] })).status).to.equal(201);
    const over = await team.apiKey.client.post(base(), { url: receiver.url, events: ["roomCreated"] });
    expect(over.status).to.equal(409);
    expect(over.body.error.code).to.equal("webhook_limit_reached");
  });
});

describe("webhooks without WEBHOOK_ALLOW_PRIVATE", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
    await truncateAll();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  it("refuses loopback, private and link-local endpoint URLs", async () => {
    const team = await createTeam(server.httpUrl, mailbox);
    for (const url of ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://169.254.169.254/latest", "http://[::1]/", "http://[fd00::1]/", "http://192.168.1.1/"]) {
      const refused = await team.owner.client.post(`/organizations/${team.orgId}/webhooks`, { url, events: ["roomCreated"] });
      expect(refused.status, url).to.equal(400);
      expect(refused.body.error.code, url).to.equal("private_webhook_url");
    }
  });
});

describe("webhooks on SQLite", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let receiver: Receiver;

  before(async () => {
    mailbox = await startMailbox();
    receiver = await startReceiver();
    server = await startServer({ DATABASE_URL: tempSqliteUrl(), SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", WEBHOOK_ALLOW_PRIVATE: "1", WEBHOOK_RETRY_SCHEDULE_MS: "100" });
  });
  after(async () => {
    await server.close();
    await receiver.close();
    await mailbox.close();
  });

  it("claims and delivers from the outbox, retrying once", async () => {
    const verify = await documentedVerify();
    const team = await createTeam(server.httpUrl, mailbox);
    const created = await team.owner.client.post(`/organizations/${team.orgId}/webhooks`, { url: receiver.url, events: ["roomCreated", "roomDeleted"] });
    expect(created.status).to.equal(201);
    receiver.respond = (_r, index) => (index === 0 ? 500 : 204);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "lite" });
    await team.owner.client.delete(`/organizations/${team.orgId}/rooms/lite`);
    await waitFor(() => receiver.ofType("roomDeleted").length === 1 && receiver.ofType("roomCreated").length >= 1 && receiver.received.length === 3, 10_000, "deliveries");
    for (const r of receiver.received) expect(verify(created.body.webhook.secret, r.headers, r.body).data.roomId).to.equal("lite");
  });
});
