/**
 * Broadcast events and REST document writes across two server processes sharing Redis (issue 22):
 * a /collab client on one process and a /yjs client on the other exchange events both ways; a REST
 * broadcast and a REST write made on one process reach clients of the other; and a REST write is
 * durable when it is answered (SIGKILL right after the 204 loses nothing).
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import * as Y from "yjs";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl, ensureTestDatabase } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { openDatabase, readStored } from "../../helpers/documents.ts";
import { startMailbox, createTeam, ApiClient, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { migrate } from "../../../db/migrator.ts";
import type { Database } from "../../../db/index.ts";
import { encodeBroadcast, parseEventMessage, type RoomEventMessage } from "../../../protocol/events.ts";
import { attachYwsEvents, type CustomEvent, type YwsEvents } from "../../../client/core/index.ts";

const ROOM = "events-shared";

describe("broadcast events and REST writes across two processes with Redis", function () {
  this.timeout(90_000);
  let db: Database;
  let mailbox: Mailbox;
  let team: Team;
  let prefix: string;
  const servers: ChildServer[] = [];
  const providers: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];

  before(async () => {
    await ensureTestDatabase();
    db = openDatabase(testDatabaseUrl());
    await migrate(db.sequelize);
    mailbox = await startMailbox();
  });
  after(async () => {
    await db?.close();
    await mailbox?.close();
  });
  beforeEach(async () => {
    await truncateAll();
    prefix = `sf-test-${randomUUID()}`;
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
    for (const s of servers.splice(0)) if (s.process.exitCode === null && s.process.signalCode === null) await s.kill();
  });

  async function spawn(redis = true): Promise<ChildServer> {
    const env: Record<string, string> = { SMTP_URL: mailbox.smtpUrl };
    if (redis) Object.assign(env, { REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: prefix });
    const server = await spawnServer(env);
    servers.push(server);
    return server;
  }
  async function setUp(first: ChildServer): Promise<ApiClient> {
    team = await createTeam(first.httpUrl, mailbox);
    const created = await team.apiKey.client.post(`/organizations/${team.orgId}/rooms`, { id: ROOM });
    expect(created.status).to.equal(201);
    return team.apiKey.client;
  }
  const apiOn = (server: ChildServer) => new ApiClient(`${server.httpUrl}/api`, team.apiKey.secret);
  const path = (suffix: string) => `/organizations/${team.orgId}/rooms/${ROOM}/${suffix}`;

  async function collab(server: ChildServer, userId: string): Promise<{ client: TestProvider; events: RoomEventMessage[] }> {
    const token = await mintToken({ userId, orgId: team.orgId, userInfo: { name: userId }, permissions: { [ROOM]: ["room:write"] } });
    const client = connectProvider(server.collabUrl, ROOM, token);
    providers.push(client);
    const events: RoomEventMessage[] = [];
    client.provider.on("stateless", ({ payload }: { payload: string }) => {
      const message = parseEventMessage(payload);
      if (message?.type === "sf:event") events.push(message);
    });
    await waitForSynced(client);
    client.provider.setAwarenessField("presence", { on: "collab" });
    return { client, events };
  }
  async function yws(server: ChildServer, userId: string): Promise<{ client: YwsClient; events: YwsEvents; received: CustomEvent[] }> {
    const token = await mintToken({ userId, orgId: team.orgId, userInfo: { name: userId }, permissions: { [ROOM]: ["room:write"] } });
    const client = connectYws(server.httpUrl, ROOM, token, { stateless: "1" });
    ywsClients.push(client);
    const events = attachYwsEvents(client.provider as never);
    const received: CustomEvent[] = [];
    events.customEvent.subscribe((e) => received.push(e));
    await waitFor(() => client.provider.synced, 5000, "the y-websocket provider to sync");
    client.provider.awareness.setLocalStateField("presence", { on: "yjs" });
    return { client, events, received };
  }

  it("carries events between /collab on one process and /yjs on the other, both ways, and REST broadcasts and writes to both", async () => {
    const [s1, s2] = await Promise.all([spawn(), spawn()]);
    await setUp(s1);
    const ada = await collab(s1, "ada");
    const cy = await yws(s2, "cy");
    // Presence crossed both ways: each process listens on the room's channel.
    await waitFor(() => ada.client.provider.awareness!.getStates().has(cy.client.doc.clientID), 10_000, "Cy's presence on the first process");
    await waitFor(() => cy.client.provider.awareness.getStates().has(ada.client.doc.clientID), 10_000, "Ada's presence on the second process");

    ada.client.provider.sendStateless(encodeBroadcast({ from: "ada" }));
    await waitFor(() => cy.received.length === 1, 5000, "Ada's event on the other process");
    expect(cy.received[0]).to.deep.equal({ user: { id: "ada", info: { name: "ada" } }, connectionId: ada.client.doc.clientID, event: { from: "ada" } });
    expect(cy.events.broadcast({ from: "cy" })).to.equal(true);
    await waitFor(() => ada.events.length === 1, 5000, "Cy's event on the other process");
    expect(ada.events[0]!.user!.id).to.equal("cy");
    expect(ada.events[0]!.connectionId).to.equal(cy.client.doc.clientID);

    // REST on either process reaches both: events through presence's channel, writes through Hocuspocus'.
    expect((await apiOn(s1).post(path("broadcast"), { from: "backend" })).status).to.equal(204);
    await waitFor(() => ada.events.length === 2 && cy.received.length === 2, 5000, "the REST event at both");
    expect(cy.received[1]).to.deep.equal({ user: null, connectionId: -1, event: { from: "backend" } });
    const written = await apiOn(s2).request("PUT", path("ydoc"), { type: "text", key: "content", text: "written on two" });
    expect(written.status, JSON.stringify(written.body)).to.equal(204);
    await waitFor(() => ada.client.text.toString() === "written on two" && cy.client.text.toString() === "written on two", 10_000, "the REST write on both processes");
    expect((await apiOn(s1).get(path("ydoc"))).body).to.deep.equal({ content: "written on two" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ada.events).to.have.length(2);
    expect(cy.received).to.have.length(2);
  });

  it("a REST write answered 204 survives SIGKILL right after the answer", async () => {
    const server = await spawn(false);
    await setUp(server);
    const doc = new Y.Doc();
    doc.getText("content").insert(0, "saved before the answer");
    const headers = { "content-type": "application/octet-stream", authorization: `Bearer ${team.apiKey.secret}` };
    const response = await fetch(`${server.httpUrl}/api${path("ydoc")}`, { method: "PUT", headers, body: Buffer.from(Y.encodeStateAsUpdate(doc)) });
    expect(response.status).to.equal(204);
    await server.kill();
    const stored = await readStored(db, team.orgId, ROOM);
    const restored = new Y.Doc();
    if (stored.snapshot) Y.applyUpdate(restored, stored.snapshot);
    for (const row of stored.log) Y.applyUpdate(restored, row.data);
    expect(restored.getText("content").toString()).to.equal("saved before the answer");

    const again = await spawn(false);
    expect((await apiOn(again).get(path("ydoc"))).body).to.deep.equal({ content: "saved before the answer" });
  });
});
