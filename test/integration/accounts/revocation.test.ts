/**
 * Revocation gaps: a token's rights never exceed what its issuer may grant now (a demoted Admin's
 * tokens stop, at connect and on live sockets, on /collab and /yjs); a deleted room stays deleted
 * (4404 on both endpoints, providers do not bring its content back, tokens minted before the
 * deletion cannot re-create it); a read-only token cannot create a room.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { ApiClient, closedWith, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored } from "../../helpers/documents.ts";
import { FAST_RECONNECT } from "../../helpers/sdk.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import { createClient, type Client } from "../../../client/core/index.ts";
import type { ConnectionContext } from "../../../server/realtime/connection-context.ts";
import type { Database } from "../../../db/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("revocation", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let db: Database;
  let team: Team;
  const providers: TestProvider[] = [];
  const ywsClients: YwsClient[] = [];
  const sockets: RawSocket[] = [];
  const sdkClients: Client[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", STORE_DEBOUNCE_MS: "50", STORE_MAX_DEBOUNCE_MS: "200" });
    db = openDatabase(testDatabaseUrl());
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(async () => {
    while (sdkClients.length) sdkClients.pop()!.destroy();
    while (providers.length) providers.pop()!.destroy();
    while (ywsClients.length) ywsClients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
    await db.close();
    await mailbox.close();
  });

  const orgPath = (suffix = "") => `/organizations/${team.orgId}${suffix}`;
  async function mint(client: ApiClient, permissions: Record<string, string[]>, userId = "end-user"): Promise<string> {
    const r = await client.post(orgPath("/access-tokens"), { userId, permissions });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.token;
  }
  async function raw(room: string, token: string): Promise<RawSocket> {
    const socket = await openRawSocket(server.collabUrl);
    sockets.push(socket);
    socket.send(authFrame(room, token));
    return socket;
  }
  function yws(room: string, token: string): YwsClient {
    const c = connectYws(server.httpUrl, room, token);
    ywsClients.push(c);
    return c;
  }
  function provider(room: string, token: string): TestProvider & { closeCodes: number[]; refusals: string[] } {
    const c = connectProvider(server.collabUrl, room, token);
    providers.push(c);
    const closeCodes: number[] = [];
    const refusals: string[] = [];
    c.socket.on("close", ({ event }: { event: { code: number } }) => closeCodes.push(event.code));
    c.provider.on("authenticationFailed", ({ reason }: { reason: string }) => refusals.push(reason));
    return Object.assign(c, { closeCodes, refusals });
  }

  describe("demotion", () => {
    it("a demoted Admin's tokens are refused at connect and its live connections close with 4401 on /collab and /yjs", async () => {
      expect((await team.owner.client.post(orgPath("/rooms"), { id: "room" })).status).to.equal(201);
      // An Admin mints a token for someone else (only Admins and Owners may), and one for itself.
      const forOther = await mint(team.admin.client, { "*": ["room:write"] });
      const forSelf = await mint(team.admin.client, { room: ["room:read"] }, team.admin.user.id);
      const collab = await raw("room", forOther);
      await waitForAuthenticated(collab);
      const ywsWriter = yws("room", forOther);
      await waitFor(() => ywsWriter.provider.synced, 5000, "y-websocket to sync");
      const own = await raw("room", forSelf);
      await waitForAuthenticated(own);

      const demoted = await team.owner.client.patch(orgPath(`/members/${team.admin.user.id}`), { role: "member" });
      expect(demoted.status).to.equal(200);
      expect(await closedWith(collab.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });
      await waitFor(() => ywsWriter.closed !== null, 5000, "the y-websocket connection to close");
      expect(ywsWriter.closed).to.deep.equal({ code: 4401, reason: "token_revoked" });
      expect(ywsWriter.provider.shouldConnect).to.equal(false);
      // A Member may still give itself room:read, so that connection stays.
      expect(own.ws.readyState).to.equal(own.ws.OPEN);

      const again = await raw("room", forOther);
      expect(await closedWith(again.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });
      const ywsAgain = yws("room", forOther);
      await waitFor(() => ywsAgain.closed !== null, 5000, "the y-websocket refusal");
      expect(ywsAgain.closed!.code).to.equal(4401);
      // The token within a Member's grant still opens new connections.
      const stillOwn = await raw("room", forSelf);
      await waitForAuthenticated(stillOwn);
    });

    it("a Member demoted to Viewer loses the write token of its room; a fresh room token is read-only", async () => {
      expect((await team.owner.client.post(orgPath("/rooms"), { id: "room" })).status).to.equal(201);
      const minted = await team.member.client.post(orgPath("/rooms/room/token"));
      expect(minted.status).to.equal(201);
      const writer = await raw("room", minted.body.token);
      await waitForAuthenticated(writer);

      expect((await team.owner.client.patch(orgPath(`/members/${team.member.user.id}`), { role: "viewer" })).status).to.equal(200);
      expect(await closedWith(writer.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });
      const refused = await raw("room", minted.body.token);
      expect(await closedWith(refused.closed)).to.deep.equal({ code: 4401, reason: "token_revoked" });

      const fresh = await team.member.client.post(orgPath("/rooms/room/token"));
      expect(fresh.body.permissions).to.deep.equal(["room:read", "comments:read"]);
      const reader = await raw("room", fresh.body.token);
      await waitForAuthenticated(reader);
    });

    it("the SDK takes token_revoked as a cue to fetch a new token, and comes back with the new role's rights", async () => {
      expect((await team.owner.client.post(orgPath("/rooms"), { id: "room" })).status).to.equal(201);
      let issued = 0;
      const client = createClient({
        url: server.collabUrl,
        reconnect: FAST_RECONNECT,
        // The app's backend: a token for the signed-in member, with its role's rights.
        authEndpoint: async (roomId) => {
          issued++;
          return { token: (await team.member.client.post(orgPath(`/rooms/${roomId}/token`))).body.token as string };
        },
      });
      sdkClients.push(client);
      const room = client.enterRoom("room");
      await room.waitUntilSynced();
      await waitFor(() => room.getStatus() === "connected", 5000, "the SDK to connect");
      const connectionContexts = () =>
        server.app.hocuspocus.documents.get(toDocumentName(team.orgId, "room"))?.getConnections().map((c) => c.context as ConnectionContext) ?? [];
      expect(connectionContexts().map((c) => c.access.canWrite)).to.deep.equal([true]);

      expect((await team.owner.client.patch(orgPath(`/members/${team.member.user.id}`), { role: "viewer" })).status).to.equal(200);
      await waitFor(() => issued >= 2 && room.getStatus() === "connected", 10_000, "the SDK to come back with a new token");
      await waitFor(() => connectionContexts().length === 1, 5000, "one connection");
      expect(connectionContexts()[0]!.access.canWrite).to.equal(false);
      expect(connectionContexts()[0]!.access.canRead).to.equal(true);
    });
  });

  describe("room deletion", () => {
    it("closes with 4404 on /collab and /yjs; providers do not bring the content back; old tokens cannot re-create it", async () => {
      expect((await team.apiKey.client.post(orgPath("/rooms"), { id: "doomed" })).status).to.equal(201);
      const token = await mint(team.apiKey.client, { doomed: ["room:write"] });
      const hp = provider("doomed", token);
      const yc = yws("doomed", token);
      await waitForSynced(hp);
      await waitFor(() => yc.provider.synced, 5000, "y-websocket to sync");
      hp.text.insert(0, "secret from hocuspocus. ");
      yc.text.insert(0, "secret from y-websocket. ");
      await waitFor(() => hp.text.toString() === yc.text.toString() && hp.text.length > 40, 5000, "convergence");
      await waitForAcked(hp);

      expect((await team.apiKey.client.delete(orgPath("/rooms/doomed"))).status).to.equal(204);
      await waitFor(() => yc.closed !== null, 5000, "the y-websocket provider to be closed");
      expect(yc.closed).to.deep.equal({ code: 4404, reason: "room_deleted" });
      expect(yc.provider.shouldConnect, "y-websocket stops on 4404").to.equal(false);
      await waitFor(() => hp.closeCodes.includes(4404), 5000, "the Hocuspocus provider's socket to close with 4404");
      // The Hocuspocus provider retries every close code; each retry is refused with room_deleted.
      await waitFor(() => hp.refusals.includes("room_deleted"), 5000, "the retry to be refused");
      await sleep(1500);

      expect((await team.apiKey.client.get(orgPath("/rooms/doomed"))).status).to.equal(404);
      const name = toDocumentName(team.orgId, "doomed");
      expect(server.app.hocuspocus.documents.has(name)).to.equal(false);
      const stored = await readStored(db, team.orgId, "doomed");
      expect(stored.snapshot).to.equal(null);
      expect(stored.log).to.deep.equal([]);

      // The old token cannot re-create the room, on either endpoint.
      const again = await raw("doomed", token);
      expect(await closedWith(again.closed)).to.deep.equal({ code: 4404, reason: "room_deleted" });
      const ywsAgain = yws("doomed", token);
      await waitFor(() => ywsAgain.closed !== null, 5000, "the y-websocket refusal");
      expect(ywsAgain.closed).to.deep.equal({ code: 4404, reason: "room_deleted" });
      expect((await team.apiKey.client.get(orgPath("/rooms/doomed"))).status).to.equal(404);

      // A token minted after the deletion creates it anew, empty; the old provider stays out.
      const fresh = provider("doomed", await mint(team.apiKey.client, { doomed: ["room:write"] }, "newcomer"));
      await waitForSynced(fresh);
      expect((await team.apiKey.client.get(orgPath("/rooms/doomed"))).status).to.equal(200);
      await sleep(1000);
      expect(fresh.text.toString()).to.equal("");
      expect(hp.provider.isAuthenticated).to.equal(false);
      expect(server.app.hocuspocus.documents.get(name)!.getText("content").toString()).to.equal("");
    });

    it("a room re-created over REST starts empty and still refuses tokens minted before the deletion", async () => {
      expect((await team.apiKey.client.post(orgPath("/rooms"), { id: "again" })).status).to.equal(201);
      const token = await mint(team.apiKey.client, { again: ["room:write"] });
      const hp = provider("again", token);
      await waitForSynced(hp);
      hp.text.insert(0, "old content");
      await waitForAcked(hp);
      hp.destroy();
      providers.splice(providers.indexOf(hp), 1);

      expect((await team.apiKey.client.delete(orgPath("/rooms/again"))).status).to.equal(204);
      expect((await team.apiKey.client.post(orgPath("/rooms"), { id: "again" })).status).to.equal(201);
      const old = await raw("again", token);
      expect(await closedWith(old.closed)).to.deep.equal({ code: 4404, reason: "room_deleted" });
      const fresh = provider("again", await mint(team.apiKey.client, { again: ["room:write"] }));
      await waitForSynced(fresh);
      expect(fresh.text.toString()).to.equal("");
    });
  });

  describe("room creation on first connection", () => {
    it("a read-only token cannot create a room (4404 room_not_found on /collab and /yjs), but opens an existing one", async () => {
      const token = await mint(team.apiKey.client, { "public:*": ["room:read"] });
      const collab = await raw("public:junk-1", token);
      expect(await closedWith(collab.closed)).to.deep.equal({ code: 4404, reason: "room_not_found" });
      const yc = yws("public:junk-2", token);
      await waitFor(() => yc.closed !== null, 5000, "the y-websocket refusal");
      expect(yc.closed).to.deep.equal({ code: 4404, reason: "room_not_found" });
      const comments = await raw("public:junk-3", await mint(team.apiKey.client, { "public:*": ["comments:write"] }));
      expect(await closedWith(comments.closed)).to.deep.equal({ code: 4404, reason: "room_not_found" });
      expect((await team.apiKey.client.get(orgPath("/rooms"))).body.data).to.deep.equal([]);

      expect((await team.apiKey.client.post(orgPath("/rooms"), { id: "public:doc" })).status).to.equal(201);
      const reader = await raw("public:doc", token);
      await waitForAuthenticated(reader);
    });
  });
});
