/**
 * The live log of one server process (no Redis): real providers over real sockets leave connect,
 * disconnect, refused and throttled entries; comment writes over REST and over a socket leave
 * comment entries; the REST list filters them; the SSE stream delivers them live and resumes after
 * Last-Event-ID; the history is bounded; any member (a Viewer too) and API keys read their own
 * organisation's log, and another organisation's is a 404.
 */
import { expect } from "chai";
import http from "node:http";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { MessageType } from "../../../protocol/messages.ts";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { ensureTestDatabase, truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { startMailbox, createTeam, closedWith, signUp, joinByInvitation, ApiClient, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { createThread } from "../../helpers/comments.ts";
import { openSse, type SseStream } from "../../helpers/sse.ts";
import { compareEntryIds, type LiveLogEntry } from "../../../server/domain/live-log/live-log.ts";

const HISTORY = 50;
/** Heartbeats and access re-checks of streams (15 s in production). */
const HEARTBEAT_MS = 200;

describe("live log (one process)", function () {
  this.timeout(30_000);
  let server: TestServer;
  let mailbox: Mailbox;
  let team: Team;
  let api: ApiClient;
  /** Another organisation: the owner's second one. */
  let otherOrgId: string;
  let counter = 0;
  let room: string;
  const providers: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];
  const sockets: RawSocket[] = [];
  const streams: SseStream[] = [];

  before(async function () {
    this.timeout(60_000);
    await ensureTestDatabase();
    await truncateAll();
    mailbox = await startMailbox();
    server = await startServer(
      { SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", LIVE_LOG_HISTORY: String(HISTORY) },
      { liveLogHeartbeatMs: HEARTBEAT_MS },
    );
    team = await createTeam(server.httpUrl, mailbox);
    api = team.apiKey.client;
    const other = await team.owner.client.post("/organizations", { name: "Other" });
    otherOrgId = other.body.organization.id;
  });
  beforeEach(() => {
    room = `log-room-${++counter}`;
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
    while (streams.length) streams.pop()!.close();
  });
  after(async () => {
    await server?.close();
    await mailbox?.close();
  });

  const logs = (query = "", client: ApiClient = api, orgId = team.orgId) => client.get(`/organizations/${orgId}/logs${query}`);
  async function entries(query: string): Promise<LiveLogEntry[]> {
    const r = await logs(query);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body.data;
  }
  async function token(userId: string, rooms: string[] = [room]): Promise<string> {
    return mintToken({ userId, orgId: team.orgId, permissions: Object.fromEntries(rooms.map((r) => [r, ["room:write"]])) });
  }
  async function provider(userId: string, name = room): Promise<TestProvider> {
    const p = connectProvider(server.collabUrl, name, await token(userId, [name]));
    providers.push(p);
    await waitForSynced(p);
    return p;
  }
  async function stream(query = "", headers: Record<string, string> = {}): Promise<SseStream<LiveLogEntry>> {
    // An empty authorization: none at all (a member's session cookie instead).
    const sent: Record<string, string> = { authorization: `Bearer ${team.apiKey.secret}`, ...headers };
    if (!sent.authorization) delete sent.authorization;
    const s = await openSse<LiveLogEntry>(`${server.httpUrl}/api/organizations/${team.orgId}/logs/stream${query}`, sent);
    streams.push(s);
    return s;
  }
  async function until(query: string, predicate: (list: LiveLogEntry[]) => boolean, what: string): Promise<LiveLogEntry[]> {
    let list: LiveLogEntry[] = [];
    const started = Date.now();
    while (Date.now() - started < 5000) {
      list = await entries(query);
      if (predicate(list)) return list;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(list)}`);
  }

  it("shows a provider connecting and leaving, with its room and user", async () => {
    const alice = await provider("alice");
    const connected = await until(`?room_id=${room}`, (l) => l.some((e) => e.kind === "connect"), "a connect entry");
    expect(connected[0]).to.include({ kind: "connect", org_id: team.orgId, room_id: room, user_id: "alice" });
    expect(connected[0]!.id).to.match(/^\d+-\d+$/);
    expect(Date.parse(connected[0]!.at)).to.be.closeTo(Date.now(), 60_000);
    alice.destroy();
    const left = await until(`?room_id=${room}`, (l) => l.some((e) => e.kind === "disconnect"), "a disconnect entry");
    expect(left.map((e) => e.kind)).to.deep.equal(["disconnect", "connect"]);
    expect(left[0]).to.include({ room_id: room, user_id: "alice" });
    // The provider closed the document, not the socket: no close code.
    expect(left[0]).not.to.have.property("code");

    // A socket that drops carries its close code (1006: no close frame).
    const raw = await openRawSocket(server.collabUrl);
    raw.send(authFrame(room, await token("zoe")));
    await waitForAuthenticated(raw);
    await raw.close();
    const dropped = await until(`?room_id=${room}&user_id=zoe&kind=disconnect`, (l) => l.length > 0, "zoe's disconnect");
    expect(dropped[0]).to.include({ code: 1006 });

    // The stock y-websocket provider too.
    const yws = connectYws(server.httpUrl, room, await token("bob"));
    ywsClients.push(yws);
    await until(`?room_id=${room}&user_id=bob`, (l) => l.some((e) => e.kind === "connect"), "bob's connect over /yjs");
  });

  it("shows a refused token with its close code, and nothing for a token that does not verify", async () => {
    const forged = await mintToken({ userId: "mallory", orgId: team.orgId, permissions: { [room]: ["room:write"] } });
    const bad = await openRawSocket(server.collabUrl);
    sockets.push(bad);
    bad.send(authFrame(room, `${forged.slice(0, -4)}AAAA`));
    expect((await closedWith(bad.closed)).code).to.equal(4401);

    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame(room, await token("carol", ["some-other-room"])));
    expect(await closedWith(raw.closed)).to.deep.equal({ code: 4403, reason: "room_not_granted" });
    const refused = await until(`?kind=refused&room_id=${room}`, (l) => l.length > 0, "a refused entry");
    expect(refused).to.have.length(1);
    expect(refused[0]).to.include({ kind: "refused", room_id: room, user_id: "carol", code: 4403, detail: "room_not_granted" });
  });

  it("shows a connection closed for a malformed message as refused (4400), in the rooms it still had open", async () => {
    const left = `${room}-left`;
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    const both = await token("dave", [room, left]);
    raw.send(authFrame(left, both));
    await waitForAuthenticated(raw);
    raw.received.length = 0;
    raw.send(authFrame(room, both));
    await waitForAuthenticated(raw);
    // Leave one room (Hocuspocus' Close message); the socket stays open for the other.
    const close = encoding.createEncoder();
    encoding.writeVarString(close, left);
    encoding.writeVarUint(close, MessageType.Close);
    raw.send(encoding.toUint8Array(close));
    await until(`?room_id=${left}&kind=disconnect`, (l) => l.length > 0, "the left room's disconnect");
    raw.send(new Uint8Array([0xff, 0xff, 0xff]));
    expect((await closedWith(raw.closed)).code).to.equal(4400);
    const refused = await until(`?kind=refused&room_id=${room}`, (l) => l.length > 0, "a refused entry");
    expect(refused[0]).to.include({ user_id: "dave", code: 4400, detail: "malformed_message" });
    expect(await entries(`?kind=refused&room_id=${left}`)).to.deep.equal([]);
  });

  it("shows throttling once, not per message", async () => {
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame(room, await token("erin")));
    await waitForAuthenticated(raw);
    const doc = new Y.Doc();
    const frames: Uint8Array[] = [];
    doc.on("update", (u: Uint8Array) => frames.push(updateFrame(room, u)));
    for (let i = 0; i < 600; i++) doc.getText("content").insert(i, "x");
    doc.destroy();
    for (const frame of frames) raw.send(frame);
    const throttled = await until(`?kind=throttled&room_id=${room}`, (l) => l.length > 0, "a throttled entry");
    expect(throttled).to.have.length(1);
    expect(throttled[0]).to.include({ kind: "throttled", room_id: room, user_id: "erin", detail: "document_rate_limit" });
  });

  it("shows comment writes over REST and over a socket", async () => {
    const created = await api.post(`/organizations/${team.orgId}/rooms/${room}/threads`, { userId: "frank", body: "from the backend" });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const rest = await until(`?kind=comment&room_id=${room}`, (l) => l.length > 0, "a REST comment entry");
    expect(rest[0]).to.include({ kind: "comment", user_id: "frank", detail: `comment_created ${created.body.id}/${created.body.comments[0].id}` });

    const grace = await provider("grace");
    const { threadId } = createThread(grace.doc, "grace", "from a client");
    const both = await until(`?kind=comment&room_id=${room}`, (l) => l.length === 2, "a socket comment entry");
    expect(both[0]).to.include({ user_id: "grace" });
    expect(both[0]!.detail).to.match(new RegExp(`^comment_created ${threadId}/`));
  });

  it("filters by room, user and kind, and refuses a bad filter", async () => {
    const other = `${room}-b`;
    await provider("heidi");
    await provider("ivan", other);
    await until(`?room_id=${other}`, (l) => l.length === 1, "ivan's connect");
    const heidi = await entries(`?room_id=${room}`);
    expect(heidi.map((e) => [e.kind, e.user_id])).to.deep.equal([["connect", "heidi"]]);
    expect((await entries(`?user_id=ivan`)).every((e) => e.user_id === "ivan" && e.room_id === other)).to.equal(true);
    expect(await entries(`?room_id=${room}&kind=refused,throttled`)).to.deep.equal([]);
    expect(await entries(`?room_id=${room}&kind=connect,disconnect`)).to.have.length(1);
    expect(await entries(`?limit=1`)).to.have.length(1);
    const bad = await logs("?kind=sneeze");
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("validation_failed");
    expect((await logs("?limit=0")).status).to.equal(400);
  });

  it("streams entries live over SSE and resumes after Last-Event-ID", async () => {
    const live = await stream(`?room_id=${room}`);
    expect(live.status).to.equal(200);
    expect(live.headers.get("content-type")).to.match(/^text\/event-stream/);
    expect(live.headers.get("cache-control")).to.include("no-transform");
    const judy = await provider("judy");
    const [first] = await live.waitForEvents(1);
    expect(first!.event).to.equal("log");
    expect(first!.data).to.include({ kind: "connect", room_id: room, user_id: "judy" });
    expect(first!.id).to.equal(first!.data.id);
    live.close();

    // Missed while away: judy leaves, kate comes.
    judy.destroy();
    await provider("kate");
    await until(`?room_id=${room}`, (l) => l.length === 3, "the entries made while away");
    const resumed = await stream(`?room_id=${room}`, { "last-event-id": first!.id! });
    const events = await resumed.waitForEvents(2);
    expect(events.map((e) => [e.data.kind, e.data.user_id])).to.deep.equal([["disconnect", "judy"], ["connect", "kate"]]);
    // And live again after the history, without repeating it.
    await provider("leo");
    await resumed.waitForEvents(3);
    expect(resumed.events.map((e) => e.data.user_id)).to.deep.equal(["judy", "kate", "leo"]);

    // The query parameter does the same for a first connection.
    const fromQuery = await stream(`?room_id=${room}&kind=connect&last_event_id=${first!.id}`);
    await fromQuery.waitForEvents(2);
    expect(fromQuery.events.map((e) => e.data.user_id)).to.deep.equal(["kate", "leo"]);
    const bad = await stream("", { "last-event-id": "not-an-id" });
    expect(bad.status).to.equal(400);
    expect(bad.error.error.code).to.equal("invalid_last_event_id");
  });

  it("stops following when the client goes away", async () => {
    const s = await stream(`?room_id=${room}`);
    await provider("mike");
    await s.waitForEvents(1);
    s.close();
    await s.ended;
    // The server notices the closed connection and drops its subscription: later entries go nowhere,
    // and new streams still work.
    await provider("nina");
    const again = await stream(`?room_id=${room}&kind=connect&last_event_id=${s.events[0]!.id}`);
    await again.waitForEvents(1);
    expect(again.events[0]!.data.user_id).to.equal("nina");
  });

  it("drops a stream whose client does not read, instead of buffering for ever", async () => {
    const url = new URL(`${server.httpUrl}/api/organizations/${team.orgId}/logs/stream?room_id=${room}`);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(url, { headers: { authorization: `Bearer ${team.apiKey.secret}` } }, resolve);
      req.on("error", reject);
    });
    expect(response.statusCode).to.equal(200);
    response.pause();
    let received = 0;
    const closed = new Promise<void>((resolve) => {
      response.on("close", () => resolve());
      response.on("error", () => resolve());
    });
    // ~10 MB of events while the client reads nothing: far past the 256 KiB a stream may hold.
    const total = 30_000;
    const detail = "x".repeat(190);
    for (let i = 0; i < total; i++) server.app.liveLog.record({ orgId: team.orgId, roomId: room, kind: "webhook", detail: `${detail}${i}` });
    response.on("data", (chunk: Buffer) => (received += chunk.toString().split("event: log").length - 1));
    response.resume();
    await closed;
    // Closed by the server with what it had not sent discarded (what was in flight may be lost too).
    expect(received).to.be.lessThan(total);
    // The server goes on: a new stream follows as before.
    const again = await stream(`?room_id=${room}&kind=connect`);
    await provider("pat");
    await again.waitForEvents(1);
  });

  it("sends heartbeats, and ends the stream of a revoked key or a removed member", async () => {
    const key = await team.owner.client.post(`/organizations/${team.orgId}/api-keys`, { name: "tail" });
    expect(key.status).to.equal(201);
    const byKey = await stream("", { authorization: `Bearer ${key.body.apiKey.secret}` });
    await waitFor(() => byKey.comments.includes("heartbeat"), 5000, "a heartbeat");
    expect((await team.owner.client.delete(`/organizations/${team.orgId}/api-keys/${key.body.apiKey.id}`)).status).to.equal(200);
    await byKey.ended;

    const account = await signUp(server.httpUrl, mailbox);
    await joinByInvitation(team.owner.client, account.client, mailbox, team.orgId, account.user.email, "viewer");
    const byMember = await stream("", { authorization: "", cookie: account.client.sessionCookie! });
    expect(byMember.status).to.equal(200);
    expect((await team.owner.client.delete(`/organizations/${team.orgId}/members/${account.user.id}`)).status).to.equal(204);
    await byMember.ended;
    const again = await stream("", { authorization: "", cookie: account.client.sessionCookie! });
    expect(again.status).to.equal(404);
    // Everyone else's streams go on.
    const kept = await stream(`?room_id=${room}`);
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 3));
    await provider("quinn");
    await kept.waitForEvents(1);
  });

  it("lets every member read, a Viewer too, and API keys; another organisation's log is a 404", async () => {
    await provider("oscar");
    await until(`?room_id=${room}`, (l) => l.length === 1, "oscar's connect");
    for (const member of [team.owner, team.admin, team.member, team.viewer]) {
      const r = await logs(`?room_id=${room}`, member.client);
      expect(r.status, member.user.email).to.equal(200);
      expect(r.body.data[0]).to.include({ user_id: "oscar" });
    }
    const viewerStream = await openSse(`${server.httpUrl}/api/organizations/${team.orgId}/logs/stream`, { cookie: team.viewer.client.sessionCookie! });
    streams.push(viewerStream);
    expect(viewerStream.status).to.equal(200);

    for (const client of [api, team.viewer.client]) {
      const r = await logs("", client, otherOrgId);
      expect(r.status).to.equal(404);
      expect(r.body.error.code).to.equal("org_not_found");
    }
    const foreign = await openSse(`${server.httpUrl}/api/organizations/${otherOrgId}/logs/stream`, { authorization: `Bearer ${team.apiKey.secret}` });
    expect(foreign.status).to.equal(404);
    expect((await logs("", new ApiClient(`${server.httpUrl}/api`))).status).to.equal(401);
  });

  it("keeps a bounded history per organisation", async () => {
    // The public record() call other areas (webhooks) make.
    for (let i = 0; i < HISTORY + 30; i++) {
      server.app.liveLog.record({ orgId: otherOrgId, roomId: "hooks", kind: "webhook", code: 200, detail: `delivery ${i}` });
    }
    const r = await logs("?limit=1000", team.owner.client, otherOrgId);
    expect(r.status).to.equal(200);
    expect(r.body.data).to.have.length(HISTORY);
    expect(r.body.data[0]).to.include({ kind: "webhook", code: 200, detail: `delivery ${HISTORY + 29}` });
    expect(r.body.data.at(-1).detail).to.equal("delivery 30");
    // Newest first, ids increasing with time.
    const ids = (r.body.data as LiveLogEntry[]).map((e) => e.id).reverse();
    expect(ids).to.deep.equal([...ids].sort(compareEntryIds));
    // Another organisation's entries stay its own.
    expect((await entries("?kind=webhook&room_id=hooks")).length).to.equal(0);
  });
});
