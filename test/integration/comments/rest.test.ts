/**
 * Threads over REST for an organisation's backend (API key): the same document as the clients
 * (a provider sees REST writes live, REST sees provider writes), the same rules (only the author
 * edits or deletes), filters, durability before the answer, and the inbox REST endpoints.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { startMailbox, createTeam, type Mailbox, type Team, type ApiClient } from "../../helpers/accounts.ts";
import { readStored } from "../../helpers/documents.ts";
import { createThread } from "../../helpers/comments.ts";
import { COMMENTS, REACTIONS, THREADS } from "../../../protocol/comment-schema.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const ROOM = "rest-room";

describe("threads and inbox over REST", () => {
  let server: TestServer;
  let mailbox: Mailbox;
  let team: Team;
  let api: ApiClient;
  const clients: TestProvider[] = [];

  before(async function () {
    this.timeout(60_000);
    await truncateAll();
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl });
    team = await createTeam(server.httpUrl, mailbox);
    api = team.apiKey.client;
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const base = () => `/organizations/${team.orgId}/rooms/${ROOM}`;

  async function connect(userId: string): Promise<TestProvider> {
    const token = await mintToken({ userId, orgId: team.orgId, permissions: { [ROOM]: ["room:write"] } });
    const c = connectProvider(server.collabUrl, ROOM, token);
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  it("writes into the live document under the same rules, durably", async () => {
    const alice = await connect("alice");
    const created = await api.post(`${base()}/threads`, { userId: "bob", body: "from the backend, @alice", metadata: { page: 3 } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const threadId: string = created.body.id;
    const firstComment: string = created.body.comments[0].id;
    await waitFor(() => alice.doc.getMap(COMMENTS).has(firstComment), 5000, "REST comment at the provider");
    expect(alice.doc.getMap(THREADS).get(threadId)).to.include({ createdBy: "bob", resolved: false });

    // Durable before the answer: the stored copy already holds it.
    const stored = await readStored(server.app.db, team.orgId, ROOM);
    const doc = new Y.Doc();
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    for (const row of stored.log) Y.applyUpdate(doc, row.data);
    expect(doc.getMap(COMMENTS).has(firstComment)).to.equal(true);

    const reply = await api.post(`${base()}/threads/${threadId}/comments`, { userId: "carol", body: "a reply", parentId: firstComment });
    expect(reply.status).to.equal(201);
    const notAuthor = await api.post(`${base()}/threads/${threadId}/comments/${firstComment}`, { userId: "carol", body: "rewritten" });
    expect(notAuthor.status).to.equal(403);
    expect(notAuthor.body.error.code).to.equal("comment_not_author");
    const edited = await api.post(`${base()}/threads/${threadId}/comments/${firstComment}`, { userId: "bob", body: "edited by bob" });
    expect(edited.status).to.equal(200);
    await waitFor(() => (alice.doc.getMap(COMMENTS).get(firstComment) as { body: string }).body === "edited by bob", 5000, "edit at the provider");

    const reacted = await api.post(`${base()}/threads/${threadId}/comments/${firstComment}/add-reaction`, { userId: "carol", emoji: "🎉" });
    expect(reacted.body.reactions).to.deep.equal([{ emoji: "🎉", users: ["carol"] }]);
    await waitFor(() => alice.doc.getMap(REACTIONS).size === 1, 5000, "reaction at the provider");

    const resolved = await api.post(`${base()}/threads/${threadId}/mark-as-resolved`, { userId: "carol" });
    expect(resolved.body).to.include({ resolved: true, resolvedBy: "carol" });

    // A provider's own thread is listed too; filters by resolution and author.
    createThread(alice.doc, "alice", "from a client");
    let all: { data: Array<{ id: string; createdBy: string }> } = { data: [] };
    for (let i = 0; i < 100 && all.data.length !== 2; i++) {
      all = (await api.get(`${base()}/threads`)).body;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(all.data).to.have.length(2);
    const unresolved = (await api.get(`${base()}/threads?resolved=false`)).body.data;
    expect(unresolved.map((t: { createdBy: string }) => t.createdBy)).to.deep.equal(["alice"]);
    const byCarol = (await api.get(`${base()}/threads?author=carol`)).body.data;
    expect(byCarol.map((t: { id: string }) => t.id)).to.deep.equal([threadId]);

    const deletedComment = await api.request("DELETE", `${base()}/threads/${threadId}/comments/${firstComment}`, { userId: "bob" });
    expect(deletedComment.status).to.equal(204);
    await waitFor(() => (alice.doc.getMap(COMMENTS).get(firstComment) as { deletedAt: number | null }).deletedAt !== null, 5000, "soft delete");

    const removed = await api.delete(`${base()}/threads/${threadId}`);
    expect(removed.status).to.equal(204);
    await waitFor(() => !alice.doc.getMap(THREADS).has(threadId), 5000, "thread removal at the provider");
    expect(alice.doc.getMap(REACTIONS).size).to.equal(0);
    expect((await api.get(`${base()}/threads/${threadId}`)).status).to.equal(404);

    // Reading a room nobody has open comes from storage and leaves nothing loaded.
    alice.destroy();
    clients.length = 0;
    const name = toDocumentName(team.orgId, ROOM);
    await waitFor(() => !server.app.hocuspocus.documents.has(name), 10_000, "document unloaded");
    const fromStorage = (await api.get(`${base()}/threads`)).body.data;
    expect(fromStorage.map((t: { createdBy: string }) => t.createdBy)).to.deep.equal(["alice"]);
    expect(server.app.hocuspocus.documents.has(name)).to.equal(false);
  });

  it("answers bad input with 4xx error JSON", async () => {
    const noUser = await api.post(`${base()}/threads`, { body: "x" });
    expect(noUser.status).to.equal(400);
    expect(noUser.body.error.code).to.equal("validation_failed");
    const tooMuchMeta = await api.post(`${base()}/threads`, { userId: "u", body: "x", metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) });
    expect(tooMuchMeta.status).to.equal(400);
    const missing = await api.post(`${base()}/threads/th_missing/comments`, { userId: "u", body: "x" });
    expect(missing.status).to.equal(404);
    const badEmoji = await api.post(`${base()}/threads/th_missing/comments/cm_x/add-reaction`, { userId: "u", emoji: "a|b" });
    expect(badEmoji.status).to.equal(400);
    const otherOrg = await api.get(`/organizations/org_nope/rooms/${ROOM}/threads`);
    expect(otherOrg.status).to.equal(404);
    const anonymous = await fetch(`${server.httpUrl}/api${base()}/threads`);
    expect(anonymous.status).to.equal(401);
  });

  it("lists, counts and marks notifications read; settings honour kinds and channels", async () => {
    const inbox = `/organizations/${team.orgId}/users/dana`;
    const settings = await api.post(`${inbox}/notification-settings`, { email: "dana@example.test", channels: { reaction: { inApp: false }, $deploy: { email: true } } });
    expect(settings.status, JSON.stringify(settings.body)).to.equal(200);
    expect(settings.body.channels.reaction).to.deep.equal({ inApp: false, email: false });
    expect(settings.body.channels.mention).to.deep.equal({ inApp: true, email: true });

    for (const kind of ["added_to_room", "$deploy", "reaction"]) {
      const t = await api.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId: "dana", kind, roomId: ROOM, data: { n: kind } });
      expect(t.status, JSON.stringify(t.body)).to.equal(201);
    }
    await mailbox.waitForMail("dana@example.test", /New notification: \$deploy/);
    const list = await api.get(`${inbox}/inbox-notifications?limit=1`);
    expect(list.body.unreadCount).to.equal(2); // the reaction was not stored: inApp off
    expect(list.body.data).to.have.length(1);
    expect(list.body.data[0].kind).to.equal("$deploy");
    const next = await api.get(`${inbox}/inbox-notifications?limit=1&cursor=${list.body.nextCursor}`);
    expect(next.body.data[0].kind).to.equal("added_to_room");
    expect(next.body.nextCursor).to.equal(null);

    const read = await api.post(`${inbox}/inbox-notifications/${list.body.data[0].id}/read`);
    expect(read.body.readAt).to.be.a("string");
    expect((await api.get(`${inbox}/inbox-notifications/unread-count`)).body.count).to.equal(1);
    expect((await api.post(`${inbox}/inbox-notifications/read-all`)).body.updated).to.equal(1);
    expect((await api.get(`${inbox}/inbox-notifications?unread=true`)).body.data).to.have.length(0);
    expect((await api.post(`${inbox}/inbox-notifications/in_nope/read`)).status).to.equal(404);
    expect((await api.post(`/organizations/${team.orgId}/inbox-notifications/trigger`, { userId: "dana", kind: "bogus" })).status).to.equal(400);
  });
});
