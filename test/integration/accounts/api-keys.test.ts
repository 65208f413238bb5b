/**
 * API keys: the secret is shown once and only its hash is stored; rotation keeps the old secret
 * valid for 24 hours (time moved with an injected clock, never slept); revocation stops the key and
 * the access tokens it minted at once.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { ApiClient, closedWith, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { createManualClock, type ManualClock } from "../../../server/domain/clock.ts";

const HOUR = 3600 * 1000;

describe("API keys", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let clock: ManualClock;
  let team: Team;
  const providers: TestProvider[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    mailbox = await startMailbox();
    clock = createManualClock();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" }, { clock });
  });
  beforeEach(async () => {
    await truncateAll();
    clock.set(new Date());
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const rooms = (client: ApiClient) => client.get(`/organizations/${team.orgId}/rooms`);

  it("stores only a hash and a visible prefix of the secret", async () => {
    const rows = await server.app.db.models.ApiKey.findAll({ where: { orgId: team.orgId } });
    expect(rows).to.have.length(1);
    const row = rows[0]!;
    expect(JSON.stringify(row.toJSON())).to.not.include(team.apiKey.secret);
    expect(row.secretHash).to.equal(createHash("sha256").update(team.apiKey.secret).digest("hex"));
    expect(row.prefix).to.equal(team.apiKey.secret.slice(0, 12));
    const listed = await team.owner.client.get(`/organizations/${team.orgId}/api-keys`);
    expect(listed.body.data[0]).to.not.have.property("secret");
    expect(listed.body.data[0].prefix).to.equal(team.apiKey.secret.slice(0, 12));
  });

  it("after rotation the old secret works for 24 hours and is refused after", async () => {
    const old = team.apiKey.client;
    const rotated = await team.owner.client.post(`/organizations/${team.orgId}/api-keys/${team.apiKey.id}/rotate`);
    expect(rotated.status).to.equal(200);
    const fresh = new ApiClient(old.baseUrl, rotated.body.apiKey.secret);
    expect(rotated.body.apiKey.secret).to.not.equal(team.apiKey.secret);
    expect(new Date(rotated.body.apiKey.previousExpiresAt).getTime()).to.equal(clock().getTime() + 24 * HOUR);

    expect((await rooms(old)).status).to.equal(200);
    expect((await rooms(fresh)).status).to.equal(200);
    clock.advance(23 * HOUR + 59 * 60 * 1000);
    expect((await rooms(old)).status).to.equal(200);
    clock.advance(2 * 60 * 1000);
    const refused = await rooms(old);
    expect(refused.status).to.equal(401);
    expect(refused.body.error.code).to.equal("invalid_api_key");
    expect((await rooms(fresh)).status).to.equal(200);
  });

  it("a revoked key is refused at once; connections with tokens it minted are closed and refused (4401)", async () => {
    await team.apiKey.client.post(`/organizations/${team.orgId}/rooms`, { id: "room" });
    const minted = await team.apiKey.client.post(`/organizations/${team.orgId}/access-tokens`, {
      userId: "end-user",
      permissions: { room: ["room:write"] },
    });
    const token = minted.body.token as string;
    // The token works, and the authorizer has cached the key as valid.
    const before = connectProvider(server.collabUrl, "room", token);
    providers.push(before);
    await waitForSynced(before);
    const open = await openRawSocket(server.collabUrl);
    sockets.push(open);
    open.send(authFrame("room", token));
    await waitForAuthenticated(open);
    // A connection with a token of another key stays.
    const otherKey = await team.owner.client.post(`/organizations/${team.orgId}/api-keys`, { name: "other" });
    const otherToken = (
      await new ApiClient(team.apiKey.client.baseUrl, otherKey.body.apiKey.secret).post(`/organizations/${team.orgId}/access-tokens`, {
        userId: "other-user",
        permissions: { room: ["room:write"] },
      })
    ).body.token;
    const unaffected = await openRawSocket(server.collabUrl);
    sockets.push(unaffected);
    unaffected.send(authFrame("room", otherToken));
    await waitForAuthenticated(unaffected);

    const revoked = await team.owner.client.delete(`/organizations/${team.orgId}/api-keys/${team.apiKey.id}`);
    expect(revoked.status).to.equal(200);
    expect(revoked.body.apiKey.revokedAt).to.be.a("string");
    const refused = await rooms(team.apiKey.client);
    expect(refused.status).to.equal(401);
    expect(await closedWith(open.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });
    expect(unaffected.ws.readyState).to.equal(unaffected.ws.OPEN);

    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("room", token));
    const closed = await closedWith(raw.closed);
    expect(closed).to.deep.equal({ code: 4401, reason: "token_revoked" });
  });

  it("a live connection cannot refresh onto a token minted by a key revoked since (4401)", async () => {
    await team.apiKey.client.post(`/organizations/${team.orgId}/rooms`, { id: "room" });
    const mint = (client: ApiClient) =>
      client.post(`/organizations/${team.orgId}/access-tokens`, { userId: "end-user", permissions: { room: ["room:write"] } });
    const first = (await mint(team.apiKey.client)).body.token as string;
    const otherKey = await team.owner.client.post(`/organizations/${team.orgId}/api-keys`, { name: "other" });
    const otherClient = new ApiClient(team.apiKey.client.baseUrl, otherKey.body.apiKey.secret);
    const second = (await mint(otherClient)).body.token as string;

    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("room", first));
    await waitForAuthenticated(raw);
    // Revoking the other key closes only connections whose token it minted: not this one.
    expect((await team.owner.client.delete(`/organizations/${team.orgId}/api-keys/${otherKey.body.apiKey.id}`)).status).to.equal(200);
    expect(raw.ws.readyState).to.equal(raw.ws.OPEN);
    // On an authenticated document, an Auth frame is a token refresh (onTokenSync).
    raw.send(authFrame("room", second));
    expect(await closedWith(raw.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });
  });

  it("tokens minted by a member are closed and refused when the member is removed", async () => {
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "room" });
    const minted = await team.admin.client.post(`/organizations/${team.orgId}/rooms/room/token`);
    expect(minted.status).to.equal(201);
    const ok = await openRawSocket(server.collabUrl);
    sockets.push(ok);
    ok.send(authFrame("room", minted.body.token));
    await waitForAuthenticated(ok);
    expect((await team.owner.client.delete(`/organizations/${team.orgId}/members/${team.admin.user.id}`)).status).to.equal(204);
    expect((await closedWith(ok.closed)).code).to.equal(4401);
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("room", minted.body.token));
    expect((await closedWith(raw.closed)).code).to.equal(4401);
  });

  it("an API key may manage rooms and mint tokens but not members or keys, and never another org", async () => {
    const key = team.apiKey.client;
    expect((await key.post(`/organizations/${team.orgId}/api-keys`, { name: "successor" })).status).to.equal(403);
    expect((await key.post(`/organizations/${team.orgId}/members`, { email: team.viewer.user.email, role: "owner" })).status).to.equal(403);
    expect((await key.post(`/organizations/${team.orgId}/rooms`, { id: "by-key" })).status).to.equal(201);
    expect((await key.get("/me")).status).to.equal(403);
    expect((await key.post("/organizations", { name: "new" })).status).to.equal(403);
    const bad = new ApiClient(key.baseUrl, "sk_" + "A".repeat(43));
    expect((await bad.get(`/organizations/${team.orgId}`)).status).to.equal(401);
    const garbage = new ApiClient(key.baseUrl, "garbage");
    expect((await garbage.get(`/organizations/${team.orgId}`)).body.error.code).to.equal("invalid_api_key");
  });
});
