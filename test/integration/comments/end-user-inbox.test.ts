/**
 * The inbox from the browser: an end user's own access token (Bearer JWT) reads and marks that
 * user's notifications and settings and reads the threads of the rooms it grants — nothing of
 * another user, another organisation or another room — and the event stream delivers their live
 * notifications with no room open.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { waitFor } from "../../helpers/clients.ts";
import { startMailbox, createTeam, ApiClient, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { createClient, type Client } from "../../../client/core/index.ts";
import { readEvents } from "../../../client/core/inbox-rest.ts";

const ROOM = "inbox-room";

describe("the inbox with an end user's access token", () => {
  let server: TestServer;
  let mailbox: Mailbox;
  let team: Team;
  const streams: AbortController[] = [];
  const clients: Client[] = [];

  before(async function () {
    this.timeout(60_000);
    await truncateAll();
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl });
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(() => {
    while (streams.length) streams.pop()!.abort();
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  /** A token minted by the team's backend (its API key is the issuer), as an app would. */
  async function tokenFor(userId: string, permissions: Record<string, string[]> = { [ROOM]: ["room:write"] }): Promise<string> {
    const minted = await team.apiKey.client.post(`/organizations/${team.orgId}/access-tokens`, { userId, permissions, userInfo: { name: userId } });
    expect(minted.status, JSON.stringify(minted.body)).to.equal(201);
    return minted.body.token;
  }

  const asUser = (token: string) => new ApiClient(`${server.httpUrl}/api`, token);
  const inbox = (userId: string, orgId = team.orgId) => `/organizations/${orgId}/users/${encodeURIComponent(userId)}`;
  const trigger = (userId: string, kind = "$deploy") =>
    team.apiKey.client.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId, kind, roomId: ROOM, data: { n: 1 } });

  it("reads and marks the user's own inbox and settings", async () => {
    const bob = asUser(await tokenFor("bob"));
    const first = (await trigger("bob")).body.notification;
    await trigger("bob");
    await trigger("alice");

    const list = await bob.get(`${inbox("bob")}/inbox-notifications`);
    expect(list.status, JSON.stringify(list.body)).to.equal(200);
    expect(list.body.data).to.have.length(2);
    expect(list.body.data.every((n: { userId: string }) => n.userId === "bob")).to.equal(true);
    expect(list.body.unreadCount).to.equal(2);

    const marked = await bob.post(`${inbox("bob")}/inbox-notifications/${first.id}/read`);
    expect(marked.status).to.equal(200);
    expect(marked.body.readAt).to.be.a("string");
    expect((await bob.get(`${inbox("bob")}/inbox-notifications/unread-count`)).body.count).to.equal(1);
    expect((await bob.post(`${inbox("bob")}/inbox-notifications/read-all`)).body.updated).to.equal(1);

    const settings = await bob.post(`${inbox("bob")}/notification-settings`, { channels: { reaction: { inApp: false } } });
    expect(settings.status, JSON.stringify(settings.body)).to.equal(200);
    expect((await bob.get(`${inbox("bob")}/notification-settings`)).body.channels.reaction.inApp).to.equal(false);

    // Alice's inbox is untouched by bob's read-all.
    const alice = await team.apiKey.client.get(`${inbox("alice")}/inbox-notifications/unread-count`);
    expect(alice.body.count).to.equal(1);
  });

  it("refuses another user's inbox, another organisation and the rest of the API", async () => {
    const bob = asUser(await tokenFor("bob"));
    const other = await bob.get(`${inbox("alice")}/inbox-notifications`);
    expect(other.status).to.equal(403);
    expect(other.body.error.code).to.equal("impersonation_forbidden");
    expect((await bob.post(`${inbox("alice")}/inbox-notifications/read-all`)).status).to.equal(403);
    expect((await bob.get(`${inbox("alice")}/notification-settings`)).status).to.equal(403);

    const otherOrgPath = await bob.get(`${inbox("bob", "org_elsewhere")}/inbox-notifications`);
    expect(otherOrgPath.status).to.equal(404);
    expect(otherOrgPath.body.error.code).to.equal("org_not_found");
    // A token of another organisation (signed by this server) reaches nothing of this one.
    const foreign = asUser(await mintToken({ userId: "bob", orgId: "org_elsewhere", permissions: { "*": ["room:write"] } }));
    expect((await foreign.get(`${inbox("bob")}/inbox-notifications`)).status).to.equal(404);
    expect((await foreign.get(`/organizations/${team.orgId}/rooms/${ROOM}/threads`)).status).to.equal(404);

    // Routes that do not say they take an access token refuse it.
    const rooms = await bob.get(`/organizations/${team.orgId}/rooms`);
    expect(rooms.status).to.equal(403);
    expect(rooms.body.error.code).to.equal("access_token_not_allowed");
    expect((await bob.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId: "bob", kind: "$x" })).status).to.equal(403);
    expect((await bob.post(`/organizations/${team.orgId}/rooms/${ROOM}/threads`, { body: "x" })).status).to.equal(403);
    expect((await bob.post(`/organizations/${team.orgId}/access-tokens`, { userId: "bob", permissions: { "*": ["room:write"] } })).status).to.equal(403);

    const forged = await asUser("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl").get(`${inbox("bob")}/inbox-notifications`);
    expect(forged.status).to.equal(401);
    expect(forged.body.error.code).to.equal("invalid_token");
  });

  it("reads the threads of rooms the token grants comments in, and no other room's", async () => {
    const created = await team.apiKey.client.post(`/organizations/${team.orgId}/rooms/${ROOM}/threads`, { userId: "alice", body: "hello @bob" });
    expect(created.status).to.equal(201);
    const base = `/organizations/${team.orgId}/rooms`;

    const commenter = asUser(await tokenFor("bob", { [ROOM]: ["comments:read"] }));
    const threads = await commenter.get(`${base}/${ROOM}/threads`);
    expect(threads.status, JSON.stringify(threads.body)).to.equal(200);
    expect(threads.body.data.map((t: { id: string }) => t.id)).to.deep.equal([created.body.id]);
    expect((await commenter.get(`${base}/${ROOM}/threads/${created.body.id}`)).body.comments[0].body).to.equal("hello @bob");

    const notGranted = await commenter.get(`${base}/another-room/threads`);
    expect(notGranted.status).to.equal(403);
    expect(notGranted.body.error.code).to.equal("room_not_granted");
    const presenceOnly = asUser(await tokenFor("bob", { [ROOM]: ["room:presence:write"] }));
    expect((await presenceOnly.get(`${base}/${ROOM}/threads`)).status).to.equal(403);
    // The activity feed is not part of what a token reads.
    expect((await commenter.get(`${base}/${ROOM}/activity`)).status).to.equal(403);
  });

  it("stops a revoked API key's tokens on REST too", async () => {
    const key = await team.owner.client.post(`/organizations/${team.orgId}/api-keys`, { name: "short-lived" });
    expect(key.status, JSON.stringify(key.body)).to.equal(201);
    const backend = new ApiClient(`${server.httpUrl}/api`, key.body.apiKey.secret);
    const minted = await backend.post(`/organizations/${team.orgId}/access-tokens`, { userId: "bob", permissions: { [ROOM]: ["room:write"] } });
    const bob = asUser(minted.body.token);
    expect((await bob.get(`${inbox("bob")}/inbox-notifications/unread-count`)).status).to.equal(200);
    expect((await team.owner.client.delete(`/organizations/${team.orgId}/api-keys/${key.body.apiKey.id}`)).status).to.be.oneOf([200, 204]);
    const refused = await bob.get(`${inbox("bob")}/inbox-notifications/unread-count`);
    expect(refused.status).to.equal(401);
    expect(refused.body.error.code).to.equal("token_revoked");
  });

  it("stops a member-issued token once its issuer may no longer grant it (an Admin demoted)", async () => {
    const minted = await team.admin.client.post(`/organizations/${team.orgId}/access-tokens`, { userId: "zed", permissions: { [ROOM]: ["comments:read"] } });
    expect(minted.status, JSON.stringify(minted.body)).to.equal(201);
    const zed = asUser(minted.body.token);
    expect((await zed.get(`${inbox("zed")}/inbox-notifications/unread-count`)).status).to.equal(200);
    expect((await zed.get(`/organizations/${team.orgId}/rooms/${ROOM}/threads`)).status).to.equal(200);
    const demoted = await team.owner.client.patch(`/organizations/${team.orgId}/members/${team.admin.user.id}`, { role: "member" });
    expect(demoted.status, JSON.stringify(demoted.body)).to.equal(200);
    expect((await zed.get(`${inbox("zed")}/inbox-notifications/unread-count`)).body.error.code).to.equal("token_revoked");
    expect((await zed.get(`/organizations/${team.orgId}/rooms/${ROOM}/threads`)).status).to.equal(401);
    await team.owner.client.patch(`/organizations/${team.orgId}/members/${team.admin.user.id}`, { role: "admin" });
  });

  /** Open the event stream and collect the data lines it sends. */
  async function openStream(token: string, userId: string): Promise<{ messages: Array<{ type: string; notification: { userId: string; kind: string } }>; status: number }> {
    const controller = new AbortController();
    streams.push(controller);
    const response = await fetch(`${server.httpUrl}/api${inbox(userId)}/inbox-notifications/events`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    const result = { messages: [] as Array<{ type: string; notification: { userId: string; kind: string } }>, status: response.status };
    if (!response.ok || !response.body) return result;
    expect(response.headers.get("content-type")).to.match(/^text\/event-stream/);
    void readEvents(response, (data) => result.messages.push(JSON.parse(data))).catch(() => undefined); // aborted at teardown
    return result;
  }

  it("streams the user's live notifications with no room open, and only theirs", async () => {
    const bobToken = await tokenFor("bob");
    const bob = await openStream(bobToken, "bob");
    expect(bob.status).to.equal(200);
    const spy = await openStream(bobToken, "alice");
    expect(spy.status).to.equal(403);

    await trigger("alice", "$not-for-bob");
    await trigger("bob", "$for-bob");
    await waitFor(() => bob.messages.length >= 1, 5000, "notification on the stream");
    expect(bob.messages[0]).to.deep.include({ type: "sf:notification" });
    expect(bob.messages[0]!.notification).to.include({ userId: "bob", kind: "$for-bob" });
    // A mention made in a room bob has not opened reaches him too.
    await team.apiKey.client.post(`/organizations/${team.orgId}/rooms/${ROOM}/threads`, { userId: "alice", body: "look @bob" });
    await waitFor(() => bob.messages.some((m) => m.notification.kind === "mention"), 5000, "mention on the stream");
    expect(bob.messages.every((m) => m.notification.userId === "bob")).to.equal(true);
  });

  it("the SDK's inbox loads, marks read and receives live with the user's token and no room open", async () => {
    const asked: Array<string | undefined> = [];
    const client = createClient({
      url: server.httpUrl,
      authEndpoint: async (roomId) => {
        asked.push(roomId);
        return tokenFor("carol");
      },
    });
    clients.push(client);
    const old = (await trigger("carol", "$before")).body.notification;
    const stop = client.inbox.start();
    await waitFor(() => client.inbox.get().notifications.some((n) => n.id === old.id), 5000, "history loaded");
    expect(asked.every((r) => r === undefined)).to.equal(true);

    await trigger("carol", "$live");
    await waitFor(() => client.inbox.get().notifications.some((n) => n.kind === "$live"), 5000, "live notification");
    expect(client.inbox.get().unreadCount).to.equal(2);
    await client.inbox.markAllRead();
    const stored = await team.apiKey.client.get(`${inbox("carol")}/inbox-notifications/unread-count`);
    expect(stored.body.count).to.equal(0);
    stop();
  });
});
