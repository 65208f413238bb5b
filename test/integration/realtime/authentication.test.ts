/**
 * Authentication at the WebSocket: the access token decides whether a connection may open a room
 * (4401 for a missing, bad or expired token, 4403 for a room it does not grant) and whether it may
 * write (room:read connections are read-only, even when they bypass the provider).
 */
import { expect } from "chai";
import * as Y from "yjs";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, updateFrame, frameType, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored, storedText } from "../../helpers/documents.ts";
import { MessageType } from "../../../protocol/messages.ts";
import { AccessTokens } from "../../../server/auth/access-token.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-test";

describe("authentication on /collab", function () {
  this.timeout(20_000);
  let server: TestServer;
  let db: Database;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    server = await startServer();
    db = openDatabase(testDatabaseUrl());
    // Once, before any store can run: every test uses its own rooms.
    await truncateAll();
  });
  after(async () => {
    await server?.close();
    await db?.close();
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });

  function connect(room: string, token: string): TestProvider {
    const c = connectProvider(server.collabUrl, room, token);
    clients.push(c);
    return c;
  }

  /** Connect a provider that must be refused: resolves with the failure reason and the close code. */
  async function refused(room: string, token: string): Promise<{ reason: string; code: number }> {
    const c = connect(room, token);
    const failed = new Promise<string>((resolve) => c.provider.on("authenticationFailed", ({ reason }: { reason: string }) => resolve(reason)));
    const closed = new Promise<number>((resolve) => c.socket.on("close", ({ event }: { event: { code: number } }) => resolve(event.code)));
    const [reason, code] = await Promise.all([failed, closed]);
    expect(c.provider.isSynced).to.equal(false);
    return { reason, code };
  }

  async function raw(room: string, token: string): Promise<RawSocket> {
    const socket = await openRawSocket(server.collabUrl);
    sockets.push(socket);
    socket.send(authFrame(room, token));
    return socket;
  }

  it("refuses a connection without a token with 4401", async () => {
    const { reason, code } = await refused("room", "");
    expect(code).to.equal(4401);
    expect(reason).to.equal("token_missing");
  });

  it("refuses a malformed token with 4401", async () => {
    const { reason, code } = await refused("room", "not.a.token");
    expect(code).to.equal(4401);
    expect(reason).to.equal("invalid_token");
  });

  it("refuses a token signed with another secret with 4401", async () => {
    const other = new AccessTokens("another-secret-another-secret-another-secret", 3600);
    const { token } = await other.sign({ userId: "u", orgId: ORG, permissions: { "*": ["room:write"] }, userInfo: {} });
    expect((await refused("room", token)).code).to.equal(4401);
  });

  it("refuses an expired token with 4401", async () => {
    const token = await mintToken({ orgId: ORG, now: new Date(Date.now() - 2 * 3600 * 1000) });
    const { reason, code } = await refused("room", token);
    expect(code).to.equal(4401);
    expect(reason).to.equal("token_expired");
  });

  it("refuses a room the token does not grant with 4403", async () => {
    const token = await mintToken({ orgId: ORG, permissions: { "team-*": ["room:write"], "exact": ["room:read"] } });
    const { reason, code } = await refused("other-room", token);
    expect(code).to.equal(4403);
    expect(reason).to.equal("room_not_granted");
    // The same token opens the rooms it does grant.
    const granted = connect("team-7", token);
    await waitForSynced(granted);
  });

  it("refuses a token whose organisation cannot name a document with 4403", async () => {
    const token = await mintToken({ orgId: "not a/valid org", permissions: { "*": ["room:write"] } });
    expect((await refused("room", token)).code).to.equal(4403);
  });

  it("keeps organisations apart: the same room id in another org is another document", async () => {
    const mine = connect("planning", await mintToken({ orgId: ORG }));
    await waitForSynced(mine);
    mine.text.insert(0, "org-test only");
    await waitForAcked(mine);
    const theirs = connect("planning", await mintToken({ orgId: "org-other" }));
    await waitForSynced(theirs);
    expect(theirs.text.toString()).to.equal("");
    theirs.text.insert(0, "org-other only");
    await waitForAcked(theirs);
    expect(mine.text.toString()).to.equal("org-test only");
  });

  it("makes room:read connections read-only, even for raw updates that bypass the provider", async () => {
    const writer = connect("docs", await mintToken({ orgId: ORG, permissions: { "*": ["room:write"] } }));
    const readerToken = await mintToken({ orgId: ORG, userId: "reader", permissions: { docs: ["room:read"] } });
    const reader = connect("docs", readerToken);
    await Promise.all([waitForSynced(writer), waitForSynced(reader)]);
    writer.text.insert(0, "written ");
    await waitFor(() => reader.text.toString() === "written ", 5000, "the reader to receive the writer's edit");

    const socket = await raw("docs", readerToken);
    await waitForAuthenticated(socket);
    const evil = new Y.Doc();
    evil.getText("content").insert(0, "vandalism");
    socket.send(updateFrame("docs", Y.encodeStateAsUpdate(evil)));
    evil.destroy();
    // Hocuspocus answers a read-only connection's update with "not saved".
    await waitFor(
      () => socket.received.some((f) => frameType(f).type === MessageType.SyncStatus && frameType(f).sub === 0),
      5000,
      "the refused-update status",
    );
    // The reader's own provider edit is not applied either.
    reader.text.insert(0, "reader edit ");

    writer.text.insert(writer.text.length, "more");
    await waitForAcked(writer);
    await waitFor(() => reader.text.toString().endsWith("more"), 5000, "the reader to keep receiving");
    expect(writer.text.toString()).to.equal("written more");
    expect(storedText(await readStored(db, ORG, "docs"))).to.equal("written more");
  });
});
