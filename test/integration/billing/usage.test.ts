/**
 * GET /api/organizations/:org_id/usage: the month's numbers and the hourly and daily series from
 * real connections (providers), edits, a REST comment and a notification, as the dashboard reads
 * them; its range checks; who may read it (members, API keys; another tenant gets 404).
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";

const HOUR = 3600 * 1000;

describe("usage endpoint", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let team: Team;
  const providers: TestProvider[] = [];

  before(async () => {
    mailbox = await startMailbox();
    // Flushes only when read (the endpoint flushes this process first), so the numbers are exact.
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", USAGE_FLUSH_MS: "3600000", STORE_DEBOUNCE_MS: "20", STORE_MAX_DEBOUNCE_MS: "100" });
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(() => {
    while (providers.length) providers.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const usagePath = (query = "") => `/organizations/${team.orgId}/usage${query}`;
  async function join(userId: string, room: string): Promise<TestProvider> {
    const r = await team.apiKey.client.post(`/organizations/${team.orgId}/access-tokens`, { userId, permissions: { [room]: ["room:write", "comments:write"] } });
    const p = connectProvider(server.collabUrl, room, r.body.token);
    providers.push(p);
    await waitForSynced(p);
    return p;
  }

  it("reports the month's users, rooms, connections, messages, comments, notifications and storage, with hourly and daily series", async () => {
    const api = team.apiKey.client;
    for (const id of ["r1", "r2"]) expect((await api.post(`/organizations/${team.orgId}/rooms`, { id })).status).to.equal(201);
    const alice = await join("alice", "r1");
    await join("bob", "r1");
    await join("bob", "r2");
    for (const word of ["one ", "two ", "three "]) {
      alice.text.insert(alice.text.length, word);
      await waitForAcked(alice);
    }
    expect((await api.post(`/organizations/${team.orgId}/rooms/r1/threads`, { userId: "alice", body: "a comment" })).status).to.equal(201);
    expect((await api.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId: "bob", kind: "$ping" })).status).to.equal(201);

    // Notifications: the trigger's, and the three added_to_org of createTeam's members.
    let usage = await api.get(usagePath("?granularity=hour"));
    expect(usage.status).to.equal(200);
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    expect(usage.body.period).to.deep.equal({ start: monthStart.toISOString(), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString() });
    expect(usage.body).to.deep.include({ billing_enabled: false, plan: { id: "self_hosted", name: "Self-hosted (no plan)" }, limits: { monthly_active_users: null, rooms: null } });
    expect(usage.body.current).to.deep.include({ monthly_active_users: 2, rooms: 2, connections: 3, peak_connections: 3, comments: 1, notifications: 4, messages: 4 });
    const hours = usage.body.series;
    const thisHour = new Date(Math.floor(Date.now() / HOUR) * HOUR).toISOString();
    expect(hours.length).to.be.within(24, 25);
    expect(hours.at(-1)).to.deep.equal({ at: thisHour, active_users: null, monthly_active_users: null, peak_connections: 3, active_rooms: 2, messages: 4, comments: 1, notifications: 4 });
    expect(hours[0]).to.include({ peak_connections: 0, messages: 0 });

    // The documents are stored (debounced): storage counts their bytes.
    for (let i = 0; i < 50; i++) {
      usage = await api.get(usagePath());
      if (usage.body.current.storage_bytes > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(usage.body.current.storage_bytes).to.be.above(10);
    expect(usage.body.granularity).to.equal("day");
    expect(usage.body.series).to.have.length.within(30, 31);
    expect(usage.body.series.at(-1)).to.include({ at: `${now.toISOString().slice(0, 10)}T00:00:00.000Z`, active_users: 2, monthly_active_users: 2, peak_connections: 3, active_rooms: 2, messages: 4 });

    // Everyone leaves: no connections now, the peak stays.
    while (providers.length) providers.pop()!.destroy();
    await waitFor(() => server.app.hocuspocus.getConnectionsCount() === 0, 5000, "connections to close");
    const after = await api.get(usagePath());
    expect(after.body.current).to.include({ connections: 0, peak_connections: 3, monthly_active_users: 2 });
  });

  it("checks the range: hour reaches 48 hours back, day 90 days; from before to", async () => {
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    const ok = await team.apiKey.client.get(usagePath(`?granularity=hour&from=${encodeURIComponent(ago(47 * HOUR))}`));
    expect(ok.status).to.equal(200);
    expect(ok.body.series).to.have.length.within(47, 48);
    for (const query of [
      `?granularity=hour&from=${encodeURIComponent(ago(72 * HOUR))}`,
      `?granularity=day&from=${encodeURIComponent(ago(100 * 24 * HOUR))}`,
      `?from=${encodeURIComponent(ago(HOUR))}&to=${encodeURIComponent(ago(2 * HOUR))}`,
      `?granularity=hour&to=${encodeURIComponent(ago(-1000 * 24 * HOUR))}`,
    ]) {
      const r = await team.apiKey.client.get(usagePath(query));
      expect(r.status, query).to.equal(400);
      expect(r.body.error.code, query).to.equal("invalid_range");
    }
    for (const query of ["?granularity=week", "?from=yesterday", "?extra=1"]) {
      expect((await team.apiKey.client.get(usagePath(query))).status, query).to.equal(400);
    }
  });

  it("is readable by every member and the organisation's API keys; another tenant's id is 404", async () => {
    for (const client of [team.owner.client, team.viewer.client, team.apiKey.client]) expect((await client.get(usagePath())).status).to.equal(200);
    expect((await team.apiKey.client.get(`/organizations/${randomUUID()}/usage`)).status).to.equal(404);
  });
});
