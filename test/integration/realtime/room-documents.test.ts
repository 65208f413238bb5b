/**
 * The room document over REST (server/http/routes/room-documents.ts, server/realtime/server-documents.ts)
 * against live providers: JSON and binary reads see a provider's edit, JSON and binary writes reach
 * the provider and are durable before the answer, diffs against a state vector, the same rules as
 * the sockets (a Viewer cannot write, a REST write cannot forge a comment), malformed input, other
 * organisations' rooms; and REST broadcast events reaching /collab and /yjs.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { startMailbox, createTeam, type ApiClient, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { readStored } from "../../helpers/documents.ts";
import { createThread, threadValue } from "../../helpers/comments.ts";
import { THREADS } from "../../../protocol/comment-schema.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import { parseEventMessage, type RoomEventMessage } from "../../../protocol/events.ts";
import { attachYwsEvents, type CustomEvent } from "../../../client/core/index.ts";

/** PUT a Yjs update as application/octet-stream with `client`'s credentials. */
export async function putUpdate(client: ApiClient, path: string, update: Uint8Array): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (client.bearer) headers.authorization = `Bearer ${client.bearer}`;
  if (client.sessionCookie) headers.cookie = client.sessionCookie;
  const response = await fetch(`${client.baseUrl}${path}`, { method: "PUT", headers, body: Buffer.from(update) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The room's stored document (snapshot and log) as a Y.Doc. */
async function storedDoc(server: TestServer, orgId: string, roomId: string): Promise<Y.Doc> {
  const stored = await readStored(server.app.db, orgId, roomId);
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const row of stored.log) Y.applyUpdate(doc, row.data);
  return doc;
}

describe("the room document over REST", function () {
  this.timeout(30_000);
  let server: TestServer;
  let mailbox: Mailbox;
  let team: Team;
  let api: ApiClient;
  let room: string;
  let counter = 0;
  const clients: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];

  before(async function () {
    this.timeout(60_000);
    await truncateAll();
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl });
    team = await createTeam(server.httpUrl, mailbox);
    api = team.apiKey.client;
  });
  beforeEach(async () => {
    room = `doc-room-${++counter}`;
    const created = await api.post(`/organizations/${team.orgId}/rooms`, { id: room });
    expect(created.status).to.equal(201);
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const path = (suffix: string, roomId = room) => `/organizations/${team.orgId}/rooms/${roomId}/${suffix}`;

  async function connect(userId = "alice"): Promise<TestProvider> {
    const token = await mintToken({ userId, orgId: team.orgId, permissions: { [room]: ["room:write"] } });
    const c = connectProvider(server.collabUrl, room, token);
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  it("reads a provider's edit as JSON, and a JSON write reaches the provider, durable before the answer", async () => {
    const alice = await connect();
    alice.text.insert(0, "hello world");
    alice.doc.getMap("settings").set("theme", "dark");
    alice.doc.getArray("items").push([1, { two: 2 }]);
    await waitForAcked(alice);

    const all = await api.get(path("ydoc"));
    expect(all.status).to.equal(200);
    expect(all.body).to.deep.equal({ content: "hello world", settings: { theme: "dark" }, items: [1, { two: 2 }] });
    expect((await api.get(`${path("ydoc")}?key=content&type=text`)).body).to.equal("hello world");
    expect((await api.get(`${path("ydoc")}?key=settings`)).body).to.deep.equal({ theme: "dark" });
    expect((await api.get(`${path("ydoc")}?key=nothing`)).body.error.code).to.equal("ydoc_key_not_found");

    const written = await api.request("PUT", path("ydoc"), {
      changes: [
        { type: "text", key: "content", text: "hello there world" },
        { type: "map", key: "settings", set: { theme: "light", size: 3 } },
        { type: "array", key: "items", insert: ["three"] },
      ],
    });
    expect(written.status, JSON.stringify(written.body)).to.equal(204);
    // Durable before the answer.
    const stored = await storedDoc(server, team.orgId, room);
    expect(stored.getText("content").toString()).to.equal("hello there world");
    await waitFor(() => alice.text.toString() === "hello there world", 5000, "the REST write at the provider");
    expect(alice.doc.getMap("settings").toJSON()).to.deep.equal({ theme: "light", size: 3 });
    expect(alice.doc.getArray("items").toJSON()).to.deep.equal([1, { two: 2 }, "three"]);

    const mismatch = await api.request("PUT", path("ydoc"), { type: "array", key: "content", insert: [1] });
    expect(mismatch.status).to.equal(409);
    expect(mismatch.body.error.code).to.equal("ydoc_type_mismatch");
  });

  it("a binary write reaches the provider; the binary read diffs against a state vector", async () => {
    const alice = await connect();
    alice.text.insert(0, "first ");
    await waitForAcked(alice);

    const full = await fetch(`${server.httpUrl}/api${path("ydoc-binary")}`, { headers: { authorization: `Bearer ${team.apiKey.secret}` } });
    expect(full.headers.get("content-type")).to.match(/application\/octet-stream/);
    const mirror = new Y.Doc();
    Y.applyUpdate(mirror, new Uint8Array(await full.arrayBuffer()));
    expect(mirror.getText("content").toString()).to.equal("first ");

    // A backend's own edit, made on its mirror and sent as an update.
    const before = Y.encodeStateVector(mirror);
    mirror.getText("content").insert(6, "from-rest");
    const put = await putUpdate(api, path("ydoc"), Y.encodeStateAsUpdate(mirror, before));
    expect(put.status, JSON.stringify(put.body)).to.equal(204);
    await waitFor(() => alice.text.toString() === "first from-rest", 5000, "the binary write at the provider");

    alice.text.insert(0, ">> ");
    await waitForAcked(alice);
    const vector = Buffer.from(Y.encodeStateVector(mirror)).toString("base64");
    const diff = await fetch(`${server.httpUrl}/api${path("ydoc-binary")}?state_vector=${encodeURIComponent(vector)}`, {
      headers: { authorization: `Bearer ${team.apiKey.secret}` },
    });
    const diffBytes = new Uint8Array(await diff.arrayBuffer());
    expect(diffBytes.length).to.be.below(Y.encodeStateAsUpdate(alice.doc).length);
    Y.applyUpdate(mirror, diffBytes);
    expect(mirror.getText("content").toString()).to.equal(">> first from-rest");

    const bad = await api.get(`${path("ydoc-binary")}?state_vector=${encodeURIComponent("%%%")}`);
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("invalid_state_vector");
  });

  it("refuses a malformed update with 400 and changes nothing", async () => {
    const alice = await connect();
    alice.text.insert(0, "kept");
    await waitForAcked(alice);
    const rows = (await readStored(server.app.db, team.orgId, room)).log.length;
    const bad = await putUpdate(api, path("ydoc"), new Uint8Array([1, 2, 3, 200, 201, 7, 9]));
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("invalid_update");
    const empty = await putUpdate(api, path("ydoc"), new Uint8Array([]));
    expect(empty.status).to.equal(400);
    expect((await readStored(server.app.db, team.orgId, room)).log.length).to.equal(rows);
    expect((await api.get(path("ydoc"))).body).to.deep.equal({ content: "kept" });
  });

  it("lets a Viewer read but not write (403), a Member write; other rooms and organisations are 404", async () => {
    const viewerRead = await team.viewer.client.get(path("ydoc"));
    expect(viewerRead.status).to.equal(200);
    const viewerWrite = await team.viewer.client.request("PUT", path("ydoc"), { type: "text", key: "content", text: "no" });
    expect(viewerWrite.status).to.equal(403);
    expect((await putUpdate(team.viewer.client, path("ydoc"), Y.encodeStateAsUpdate(new Y.Doc()))).status).to.equal(403);
    expect((await team.viewer.client.post(path("broadcast"), { hi: 1 })).status).to.equal(403);
    const memberWrite = await team.member.client.request("PUT", path("ydoc"), { type: "text", key: "content", text: "by a member" });
    expect(memberWrite.status, JSON.stringify(memberWrite.body)).to.equal(204);
    expect((await api.get(path("ydoc"))).body).to.deep.equal({ content: "by a member" });

    expect((await api.get(path("ydoc", "no-such-room"))).body.error.code).to.equal("room_not_found");
    expect((await api.request("PUT", path("ydoc", "no-such-room"), { type: "text", key: "content", text: "x" })).status).to.equal(404);
    const other = await team.owner.client.post("/organizations", { name: "Other" });
    const otherOrg: string = other.body.organization.id;
    expect((await api.get(`/organizations/${otherOrg}/rooms/${room}/ydoc`)).status).to.equal(404);
    expect((await api.post(`/organizations/${otherOrg}/rooms/${room}/broadcast`, { hi: 1 })).status).to.equal(404);
  });

  it("refuses a REST write that forges a comment, as a socket write is refused", async () => {
    const alice = await connect();
    const forged = new Y.Doc();
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(alice.doc));
    const before = Y.encodeStateVector(forged);
    createThread(forged, "alice", "not written by alice");
    const refused = await putUpdate(api, path("ydoc"), Y.encodeStateAsUpdate(forged, before));
    expect(refused.status).to.equal(403);
    expect(refused.body.error.code).to.equal("thread_forged_author");
    // A member writes as their own account, and no one else.
    const asMember = await team.member.client.request("PUT", path("ydoc"), { type: "map", key: THREADS, set: { t1: threadValue("t1", "alice") as never } });
    expect(asMember.status).to.equal(403);
    expect(asMember.body.error.code).to.equal("thread_forged_author");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alice.doc.getMap(THREADS).size).to.equal(0);
    expect((await storedDoc(server, team.orgId, room)).getMap(THREADS).size).to.equal(0);
  });

  it("loads the room for a write and unloads it afterwards; a read does not load it", async () => {
    const name = toDocumentName(team.orgId, room);
    const writes: Array<{ orgId: string; roomId: string; userId: string }> = [];
    const unsubscribe = server.app.documents.written.subscribe(({ orgId, roomId, userId }) => writes.push({ orgId, roomId, userId }));
    expect((await api.get(path("ydoc"))).status).to.equal(200);
    expect(server.app.hocuspocus.documents.has(name)).to.equal(false);
    const written = await api.request("PUT", path("ydoc"), { type: "text", key: "content", text: "offline write" });
    expect(written.status).to.equal(204);
    // The hook for features reacting to REST writes (webhooks) heard it, as an API key's (no user).
    unsubscribe();
    expect(writes).to.deep.equal([{ orgId: team.orgId, roomId: room, userId: "" }]);
    await waitFor(() => !server.app.hocuspocus.documents.has(name), 5000, "the room to unload");
    expect((await api.get(path("ydoc"))).body).to.deep.equal({ content: "offline write" });
    const alice = await connect();
    expect(alice.text.toString()).to.equal("offline write");
  });

  it("POST broadcast reaches every connection on /collab and /yjs, stamped as the backend", async () => {
    const alice = await connect();
    const atAlice: RoomEventMessage[] = [];
    alice.provider.on("stateless", ({ payload }: { payload: string }) => {
      const message = parseEventMessage(payload);
      if (message?.type === "sf:event") atAlice.push(message);
    });
    const token = await mintToken({ userId: "bob", orgId: team.orgId, permissions: { [room]: ["room:read"] } });
    const bob = connectYws(server.httpUrl, room, token, { stateless: "1" });
    ywsClients.push(bob);
    const atBob: CustomEvent[] = [];
    attachYwsEvents(bob.provider as never).customEvent.subscribe((e) => atBob.push(e));
    await waitFor(() => bob.provider.synced, 5000, "Bob to sync");

    const sent = await api.post(path("broadcast"), { type: "deploy", version: 7 });
    expect(sent.status).to.equal(204);
    await waitFor(() => atAlice.length === 1 && atBob.length === 1, 5000, "the event at both");
    expect(atAlice[0]).to.deep.equal({ type: "sf:event", user: null, connectionId: -1, event: { type: "deploy", version: 7 } });
    expect(atBob[0]).to.deep.equal({ user: null, connectionId: -1, event: { type: "deploy", version: 7 } });
    const bySession = await team.member.client.post(path("broadcast"), ["from", "a member"]);
    expect(bySession.status).to.equal(204);
    await waitFor(() => atAlice.length === 2, 5000, "the member's event");
  });
});
