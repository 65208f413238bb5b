/**
 * Rooms: create (given or generated id), list with a stable cursor, get, update, delete (which
 * closes the room's connections and removes its stored document, also while the document is still
 * loading or is kept loaded only by a store retry), the plan's rooms limit on REST and on first
 * connection (an operator's override here; test/integration/billing covers the plans), and maxParticipants refusing a full room with 4005. Store retries are spaced 60 s
 * apart here, so a deletion never waits for one.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { closedWith, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored } from "../../helpers/documents.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import type { Database } from "../../../db/index.ts";
import { setPlanOverride } from "../../../server/domain/billing/plan-overrides.ts";

describe("rooms", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let db: Database;
  let team: Team;
  const providers: TestProvider[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer(
      { SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", STORE_DEBOUNCE_MS: "50", STORE_MAX_DEBOUNCE_MS: "200" },
      { storeRetryDelayMs: () => 60_000 },
    );
    db = openDatabase(testDatabaseUrl());
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
    await db.close();
    await mailbox.close();
  });

  const path = (suffix = "") => `/organizations/${team.orgId}/rooms${suffix}`;
  async function mint(permissions: Record<string, string[]>, userId = "end-user"): Promise<string> {
    const r = await team.apiKey.client.post(`/organizations/${team.orgId}/access-tokens`, { userId, permissions });
    expect(r.status).to.equal(201);
    return r.body.token;
  }

  it("creates, gets, updates and lists rooms with a stable cursor", async () => {
    const api = team.apiKey.client;
    const created = await api.post(path(), {
      id: "board:1",
      name: "Board",
      type: "whiteboard",
      metadata: { team: "design", tags: ["a", "b"] },
      maxParticipants: 5,
      defaultAccess: ["room:read"],
    });
    expect(created.status).to.equal(201);
    expect(created.body.room).to.deep.include({
      id: "board:1",
      name: "Board",
      type: "whiteboard",
      metadata: { team: "design", tags: ["a", "b"] },
      maxParticipants: 5,
      defaultAccess: ["room:read"],
    });
    const generated = await api.post(path(), { name: "No id given" });
    expect(generated.status).to.equal(201);
    expect(generated.body.room.id).to.match(/^[0-9a-f-]{36}$/);
    const dup = await api.post(path(), { id: "board:1" });
    expect(dup.status).to.equal(409);
    expect(dup.body.error.code).to.equal("room_exists");

    const got = await api.get(path("/board:1"));
    expect(got.body.room.name).to.equal("Board");
    const updated = await api.patch(path("/board:1"), { name: "Renamed", metadata: { team: "eng" }, maxParticipants: null });
    expect(updated.status).to.equal(200);
    expect(updated.body.room).to.deep.include({ name: "Renamed", metadata: { team: "eng" }, maxParticipants: null, type: "whiteboard" });

    for (let i = 0; i < 7; i++) await api.post(path(), { id: `page-${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await api.get(path(`?limit=3${cursor ? `&cursor=${cursor}` : ""}`));
      expect(page.status).to.equal(200);
      expect(page.body.data.length).to.be.at.most(3);
      seen.push(...page.body.data.map((r: { id: string }) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).to.have.length(9);
    expect(seen).to.deep.equal([...seen].sort());
    expect(new Set(seen).size).to.equal(9);

    // Search: a substring of the id or the name, any case, paginated like the whole list; % and _ are literal.
    const found = await api.get(path("?search=PAGE-&limit=5"));
    expect(found.body.data.map((r: { id: string }) => r.id)).to.deep.equal(["page-0", "page-1", "page-2", "page-3", "page-4"]);
    const rest = await api.get(path(`?search=PAGE-&limit=5&cursor=${found.body.nextCursor}`));
    expect(rest.body.data.map((r: { id: string }) => r.id)).to.deep.equal(["page-5", "page-6"]);
    expect((await api.get(path("?search=renamed"))).body.data.map((r: { id: string }) => r.id)).to.deep.equal(["board:1"]);
    expect((await api.get(path("?search=%25"))).body.data).to.deep.equal([]);
  });

  it("enforces the rooms limit on REST (402) and on first connection (4402 plan_limit_reached); rooms are created on first connection", async () => {
    await setPlanOverride(db, team.orgId, { plan: "enterprise", monthlyActiveUsers: null, rooms: 2 });
    await server.app.entitlements.invalidate(team.orgId);
    expect((await team.apiKey.client.post(path(), { id: "one" })).status).to.equal(201);
    // First connection creates the second room, as Liveblocks does.
    const joiner = connectProvider(server.collabUrl, "auto-created", await mint({ "*": ["room:write"] }));
    providers.push(joiner);
    await waitForSynced(joiner);
    expect((await team.apiKey.client.get(path("/auto-created"))).status).to.equal(200);

    const third = await team.apiKey.client.post(path(), { id: "three" });
    expect(third.status).to.equal(402);
    expect(third.body.error.code).to.equal("plan_limit_reached");
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("not-yet", await mint({ "*": ["room:write"] })));
    expect(await closedWith(raw.closed)).to.deep.equal({ code: 4402, reason: "plan_limit_reached" });
    // An existing room still opens.
    const existing = await openRawSocket(server.collabUrl);
    sockets.push(existing);
    existing.send(authFrame("one", await mint({ "*": ["room:write"] })));
    await waitForAuthenticated(existing);
  });

  it("refuses a connection to a full room with 4005 room_full", async () => {
    await team.apiKey.client.post(path(), { id: "small", maxParticipants: 2 });
    const token = await mint({ small: ["room:write"] });
    const a = connectProvider(server.collabUrl, "small", token);
    const b = connectProvider(server.collabUrl, "small", token);
    providers.push(a, b);
    await Promise.all([waitForSynced(a), waitForSynced(b)]);
    const third = await openRawSocket(server.collabUrl);
    sockets.push(third);
    third.send(authFrame("small", token));
    expect(await closedWith(third.closed)).to.deep.equal({ code: 4005, reason: "room_full" });
    // A provider is told why.
    const late = connectProvider(server.collabUrl, "small", token);
    providers.push(late);
    let reason: string | null = null;
    late.provider.on("authenticationFailed", (data: { reason: string }) => (reason = data.reason));
    await waitFor(() => reason !== null, 5000, "the provider to be refused");
    expect(reason).to.equal("room_full");
    providers.pop()!.destroy();
    // A seat frees up when someone leaves.
    providers.shift()!.destroy();
    await waitFor(() => server.app.hocuspocus.documents.get(toDocumentName(team.orgId, "small"))?.getConnectionsCount() === 1, 5000, "a to leave");
    const fourth = await openRawSocket(server.collabUrl);
    sockets.push(fourth);
    fourth.send(authFrame("small", token));
    await waitForAuthenticated(fourth);
  });

  it("deleting a room closes its connections and removes its document for good", async () => {
    await team.apiKey.client.post(path(), { id: "doomed" });
    const writer = connectProvider(server.collabUrl, "doomed", await mint({ doomed: ["room:write"] }));
    const bystander = connectProvider(server.collabUrl, "kept", await mint({ kept: ["room:write"] }));
    providers.push(writer, bystander);
    await Promise.all([waitForSynced(writer), waitForSynced(bystander)]);
    writer.text.insert(0, "soon gone");
    bystander.text.insert(0, "stays");
    await Promise.all([waitForAcked(writer), waitForAcked(bystander)]);
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("doomed", await mint({ doomed: ["room:read"] })));
    await waitForAuthenticated(raw);
    // The raw socket (which never reconnects) keeps the document loaded. Providers open at the
    // deletion are covered in revocation.test.ts: they may not re-create the room.
    writer.destroy();

    const deleted = await team.apiKey.client.delete(path("/doomed"));
    expect(deleted.status).to.equal(204);
    expect(await closedWith(raw.closed)).to.deep.equal({ code: 4404, reason: "room_deleted" });
    const name = toDocumentName(team.orgId, "doomed");
    expect(server.app.hocuspocus.documents.has(name)).to.equal(false);
    const stored = await readStored(db, team.orgId, "doomed");
    expect(stored.snapshot).to.equal(null);
    expect(stored.log).to.deep.equal([]);
    expect((await team.apiKey.client.get(path("/doomed"))).status).to.equal(404);
    expect((await team.apiKey.client.delete(path("/doomed"))).status).to.equal(404);
    // Other rooms are untouched.
    expect(bystander.text.toString()).to.equal("stays");
    expect(server.app.hocuspocus.documents.has(toDocumentName(team.orgId, "kept"))).to.equal(true);
    // A new room with the same id starts empty.
    await team.apiKey.client.post(path(), { id: "doomed" });
    const fresh = connectProvider(server.collabUrl, "doomed", await mint({ doomed: ["room:write"] }, "someone-else"));
    providers.push(fresh);
    await waitForSynced(fresh);
    expect(fresh.text.toString()).to.equal("");
  });

  it("deleting a room while its document is still loading closes the connection that waits for it and keeps the room deleted", async () => {
    await team.apiKey.client.post(path(), { id: "loading" });
    const writer = connectProvider(server.collabUrl, "loading", await mint({ loading: ["room:write"] }));
    providers.push(writer);
    await waitForSynced(writer);
    writer.text.insert(0, "soon gone");
    await waitForAcked(writer);
    providers.pop()!.destroy();
    const name = toDocumentName(team.orgId, "loading");
    await waitFor(() => !server.app.documentCopies.has(name), 5000, "the document to be stored and unloaded");

    // The next load waits for the update log, which the test holds locked.
    const lock = await db.sequelize.transaction();
    let deleting: Promise<{ status: number }> | null = null;
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    try {
      await db.sequelize.query("LOCK TABLE document_updates IN ACCESS EXCLUSIVE MODE", { transaction: lock });
      raw.send(authFrame("loading", await mint({ loading: ["room:read"] })));
      await waitFor(() => server.app.documentCopies.has(name), 5000, "the load to start");
      deleting = team.apiKey.client.delete(path("/loading"));
      await new Promise((r) => setTimeout(r, 200));
      expect(server.app.hocuspocus.documents.has(name), "still loading").to.equal(false);
    } finally {
      await lock.rollback();
    }
    expect((await deleting!).status).to.equal(204);
    expect(await closedWith(raw.closed)).to.deep.equal({ code: 4404, reason: "room_deleted" });
    expect(server.app.hocuspocus.documents.has(name)).to.equal(false);
    const stored = await readStored(db, team.orgId, "loading");
    expect(stored.snapshot).to.equal(null);
    expect(stored.log).to.deep.equal([]);
  });

  it("deleting a room whose document only a store retry keeps loaded unloads it at once", async () => {
    await team.apiKey.client.post(path(), { id: "retrying" });
    const writer = connectProvider(server.collabUrl, "retrying", await mint({ retrying: ["room:write"] }));
    providers.push(writer);
    await waitForSynced(writer);
    const name = toDocumentName(team.orgId, "retrying");
    await db.sequelize.query("ALTER TABLE room_documents RENAME TO room_documents_unavailable");
    try {
      writer.text.insert(0, "not stored yet");
      await waitForAcked(writer);
      const document = server.app.hocuspocus.documents.get(name)!;
      await waitFor(() => server.app.persistence.isRetryingStore(document), 5000, "the store to fail");
      providers.pop()!.destroy();
      await waitFor(() => document.getConnectionsCount() === 0, 5000, "the writer to leave");
      await new Promise((r) => setTimeout(r, 100));
      expect(server.app.hocuspocus.documents.has(name), "kept for its retry").to.equal(true);
    } finally {
      await db.sequelize.query("ALTER TABLE room_documents_unavailable RENAME TO room_documents");
    }
    const started = Date.now();
    expect((await team.apiKey.client.delete(path("/retrying"))).status).to.equal(204);
    expect(Date.now() - started, "no wait for the retry or the unload deadline").to.be.below(5000);
    expect(server.app.hocuspocus.documents.has(name)).to.equal(false);
    const stored = await readStored(db, team.orgId, "retrying");
    expect(stored.snapshot).to.equal(null);
    expect(stored.log).to.deep.equal([]);
  });
});
