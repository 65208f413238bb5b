/**
 * Plans enforced with billing on (STRIPE_SECRET_KEY set; no Stripe is called here): a fresh
 * organisation is on Free (50 MAU, 3 rooms, presence only) — a fourth room is 402, comment writes
 * are 403 feature_not_in_plan over REST and refused by the server over /collab, notifications are
 * refused; a subscription row written straight into billing_accounts gives its plan, a past-due
 * one keeps it for 7 days (a manual clock moves time), then Free. With billing off nothing is
 * limited. The admin CLI (a child process) sets Enterprise limits that the running server applies
 * at once, through Redis.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import * as Y from "yjs";
import { startServer, testEnv, ROOT, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { createTeam, startMailbox, closedWith, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { craftUpdate, createThread } from "../../helpers/comments.ts";
import { createManualClock, type ManualClock } from "../../../server/domain/clock.ts";
import { THREADS } from "../../../protocol/comment-schema.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const run = promisify(execFile);
const DAY = 24 * 3600 * 1000;
const SERVER_ENV = { BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" };

describe("plans with billing on", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let clock: ManualClock;
  let team: Team;
  let prefix: string;
  const sockets: RawSocket[] = [];

  before(async () => {
    mailbox = await startMailbox();
    clock = createManualClock(new Date());
    prefix = `sf-test-${randomUUID()}`;
    server = await startServer(
      { ...SERVER_ENV, SMTP_URL: mailbox.smtpUrl, STRIPE_SECRET_KEY: "sk_test_not_called", STRIPE_WEBHOOK_SECRET: "whsec_not_called", REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix },
      { clock },
    );
  });
  beforeEach(async () => {
    await truncateAll();
    clock.set(new Date());
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(async () => {
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const org = (suffix = "") => `/organizations/${team.orgId}${suffix}`;
  async function subscription(plan: string, status: string, pastDueSince: Date | null = null): Promise<void> {
    await server.app.db.models.BillingAccount.upsert({ orgId: team.orgId, plan, status, pastDueSince, stripeCustomerId: `cus_${randomUUID()}` });
    await server.app.entitlements.invalidate(team.orgId);
  }
  async function mint(userId: string, room: string, permissions = ["room:write"]): Promise<string> {
    const r = await team.apiKey.client.post(org("/access-tokens"), { userId, permissions: { [room]: permissions } });
    expect(r.status).to.equal(201);
    return r.body.token;
  }
  async function limits(): Promise<{ plan: string; mau: number | null; rooms: number | null }> {
    const r = await team.apiKey.client.get(org("/usage"));
    expect(r.status).to.equal(200);
    return { plan: r.body.plan.id, mau: r.body.limits.monthly_active_users, rooms: r.body.limits.rooms };
  }
  async function tryComment(room: string): Promise<{ status: number; body: any }> {
    return team.apiKey.client.post(org(`/rooms/${room}/threads`), { userId: "alice", body: "hello" });
  }

  it("puts a fresh organisation on Free: 3 rooms (402 on the fourth), no comments (403 feature_not_in_plan), no notifications", async () => {
    expect(await limits()).to.deep.equal({ plan: "free", mau: 50, rooms: 3 });
    const shown = await team.owner.client.get(org());
    expect(shown.body.organization).to.include({ plan_type: "free", max_rooms: 3, max_monthly_connections: 50 });
    for (const id of ["a", "b", "c"]) expect((await team.apiKey.client.post(org("/rooms"), { id })).status).to.equal(201);
    const fourth = await team.apiKey.client.post(org("/rooms"), { id: "d" });
    expect(fourth.status).to.equal(402);
    expect(fourth.body.error.code).to.equal("plan_limit_reached");
    expect(fourth.body.error.message).to.include("3 rooms");

    const comment = await tryComment("a");
    expect(comment.status).to.equal(403);
    expect(comment.body.error.code).to.equal("feature_not_in_plan");
    const notification = await team.apiKey.client.post(org("/inbox-notifications/trigger"), { userId: "alice", kind: "$custom" });
    expect(notification.status).to.equal(403);
    expect(notification.body.error.code).to.equal("feature_not_in_plan");
    // Another tenant's id is still 404, not a plan answer.
    const other = await team.apiKey.client.post(`/organizations/${randomUUID()}/rooms/a/threads`, { userId: "alice", body: "x" });
    expect(other.status).to.equal(404);
  });

  it("refuses a comment written over /collab on Free (4403 feature_not_in_plan); the server's document never has it; edits still work", async () => {
    await team.apiKey.client.post(org("/rooms"), { id: "doc" });
    const s = await openRawSocket(server.collabUrl);
    sockets.push(s);
    s.send(authFrame("doc", await mint("alice", "doc", ["room:write", "comments:write"])));
    await waitForAuthenticated(s);
    const base = new Y.Doc();
    // Content is fine on Free.
    s.send(updateFrame("doc", craftUpdate(base, (d) => d.getText("content").insert(0, "hi"))));
    s.send(updateFrame("doc", craftUpdate(base, (d) => createThread(d, "alice", "a comment"))));
    expect(await closedWith(s.closed)).to.deep.equal({ code: 4403, reason: "feature_not_in_plan" });
    const live = server.app.hocuspocus.documents.get(toDocumentName(team.orgId, "doc"));
    expect(live?.getText("content").toString()).to.equal("hi");
    expect(live?.getMap(THREADS).size).to.equal(0);
  });

  it("an active subscription gives its plan (Starter: comments, 10 rooms); the change applies without a restart", async () => {
    await subscription("starter", "active");
    expect(await limits()).to.deep.equal({ plan: "starter", mau: 1000, rooms: 10 });
    await team.apiKey.client.post(org("/rooms"), { id: "doc" });
    expect((await tryComment("doc")).status).to.equal(201);
    await subscription("starter", "canceled");
    expect(await limits()).to.deep.equal({ plan: "free", mau: 50, rooms: 3 });
    expect((await tryComment("doc")).status).to.equal(403);
  });

  it("past due: the plan holds for 7 days after past_due_since, then Free limits apply (nothing is deleted)", async () => {
    await subscription("pro", "past_due", new Date(clock().getTime() - 3 * DAY));
    expect(await limits()).to.deep.equal({ plan: "pro", mau: 10_000, rooms: 100 });
    for (const id of ["a", "b", "c", "d", "e"]) expect((await team.apiKey.client.post(org("/rooms"), { id })).status).to.equal(201);
    clock.advance(4 * DAY + 60_000);
    // No invalidation: the grace ends by the clock alone.
    expect(await limits()).to.deep.equal({ plan: "free", mau: 50, rooms: 3 });
    expect((await team.apiKey.client.post(org("/rooms"), { id: "f" })).status).to.equal(402);
    expect((await tryComment("a")).status).to.equal(403);
    const rooms = await team.apiKey.client.get(org("/rooms"));
    expect(rooms.body.data.map((r: { id: string }) => r.id)).to.deep.equal(["a", "b", "c", "d", "e"]);
  });

  it("the admin CLI sets Enterprise with custom limits; the running server applies them at once; clear-override goes back to Free", async () => {
    const cli = async (...args: string[]) => {
      const env = { ...process.env, ...testEnv({ DATABASE_URL: testDatabaseUrl(), REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix, STRIPE_SECRET_KEY: "sk_test_not_called", STRIPE_WEBHOOK_SECRET: "whsec_not_called" }) };
      return run(process.execPath, [path.join(ROOT, "scripts/admin.ts"), ...args], { cwd: ROOT, env: env as NodeJS.ProcessEnv });
    };
    expect(await limits()).to.deep.equal({ plan: "free", mau: 50, rooms: 3 });
    const set = await cli("set-plan", team.orgId, "enterprise", "--mau", "7", "--rooms", "4");
    expect(set.stdout).to.match(/plan\s+enterprise \(Enterprise\) \[override\]/);
    expect(set.stdout).to.match(/mau limit\s+7\n/);
    expect(await limits()).to.deep.equal({ plan: "enterprise", mau: 7, rooms: 4 });
    for (const id of ["a", "b", "c", "d"]) expect((await team.apiKey.client.post(org("/rooms"), { id })).status).to.equal(201);
    expect((await team.apiKey.client.post(org("/rooms"), { id: "e" })).status).to.equal(402);
    expect((await tryComment("a")).status).to.equal(201);

    const shown = await cli("show-org", team.orgId);
    expect(shown.stdout).to.match(/rooms limit\s+4\n/);
    await cli("clear-override", team.orgId);
    expect(await limits()).to.deep.equal({ plan: "free", mau: 50, rooms: 3 });

    const bad = await cli("set-plan", team.orgId, "platinum").then(() => null, (error: { code: number; stderr: string }) => error);
    expect(bad?.code).to.equal(1);
    expect(bad?.stderr).to.match(/Unknown plan platinum/);
  });
});

describe("plans with billing off", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let team: Team;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ ...SERVER_ENV, SMTP_URL: mailbox.smtpUrl });
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  it("limits nothing: any number of rooms, comments and notifications, no plan in the usage report", async () => {
    const api = team.apiKey.client;
    for (let i = 0; i < 5; i++) expect((await api.post(`/organizations/${team.orgId}/rooms`, { id: `r${i}` })).status).to.equal(201);
    expect((await api.post(`/organizations/${team.orgId}/rooms/r0/threads`, { userId: "alice", body: "hello" })).status).to.equal(201);
    expect((await api.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId: "alice", kind: "$custom" })).status).to.equal(201);
    const usage = await api.get(`/organizations/${team.orgId}/usage`);
    expect(usage.body).to.deep.include({ billing_enabled: false, plan: { id: "self_hosted", name: "Self-hosted (no plan)" }, limits: { monthly_active_users: null, rooms: null } });
  });

  it("an operator's plan still applies (Free by override: 3 rooms)", async () => {
    await server.app.db.models.Organization.update({ planOverride: "free" }, { where: { id: team.orgId } });
    await server.app.entitlements.invalidate(team.orgId);
    for (const id of ["a", "b", "c"]) expect((await team.apiKey.client.post(`/organizations/${team.orgId}/rooms`, { id })).status).to.equal(201);
    expect((await team.apiKey.client.post(`/organizations/${team.orgId}/rooms`, { id: "d" })).status).to.equal(402);
  });
});
