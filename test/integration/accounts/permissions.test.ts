/**
 * The permission matrix: for each org role (and an API key) which REST calls succeed, and for each
 * access-token permission what a WebSocket connection may do. A read-only client's raw update,
 * sent with `ws` past any provider, changes nothing anywhere.
 */
import { expect } from "chai";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { ApiClient, closedWith, createTeam, signUp, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, frameType, type RawSocket } from "../../helpers/raw-socket.ts";
import { openDatabase, readStored, storedText } from "../../helpers/documents.ts";
import { MessageType, SyncStep } from "../../../protocol/messages.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import type { Database } from "../../../db/index.ts";

type ActorName = "owner" | "admin" | "member" | "viewer" | "apiKey";
const ACTORS: ActorName[] = ["owner", "admin", "member", "viewer", "apiKey"];

interface Operation {
  name: string;
  success: number;
  allowed: ActorName[];
  run(client: ApiClient, ctx: { team: Team; candidateEmail: string; roomId: string }): Promise<{ status: number; body: any }>;
}

const OPERATIONS: Operation[] = [
  { name: "GET org", success: 200, allowed: ACTORS, run: (c, { team }) => c.get(`/organizations/${team.orgId}`) },
  {
    name: "PATCH org",
    success: 200,
    allowed: ["owner", "admin"],
    run: (c, { team }) => c.patch(`/organizations/${team.orgId}`, { name: "Renamed" }),
  },
  { name: "GET members", success: 200, allowed: ACTORS, run: (c, { team }) => c.get(`/organizations/${team.orgId}/members`) },
  {
    name: "POST member",
    success: 202,
    allowed: ["owner", "admin"],
    run: (c, { team, candidateEmail }) => c.post(`/organizations/${team.orgId}/members`, { email: candidateEmail, role: "viewer" }),
  },
  { name: "GET api-keys", success: 200, allowed: ["owner", "admin"], run: (c, { team }) => c.get(`/organizations/${team.orgId}/api-keys`) },
  {
    name: "POST api-key",
    success: 201,
    allowed: ["owner", "admin"],
    run: (c, { team }) => c.post(`/organizations/${team.orgId}/api-keys`, { name: "another" }),
  },
  {
    name: "POST room",
    success: 201,
    allowed: ["owner", "admin", "member", "apiKey"],
    run: (c, { team }) => c.post(`/organizations/${team.orgId}/rooms`, { name: "new room" }),
  },
  { name: "GET rooms", success: 200, allowed: ACTORS, run: (c, { team }) => c.get(`/organizations/${team.orgId}/rooms`) },
  { name: "GET room", success: 200, allowed: ACTORS, run: (c, { team, roomId }) => c.get(`/organizations/${team.orgId}/rooms/${roomId}`) },
  {
    name: "PATCH room",
    success: 200,
    allowed: ["owner", "admin", "member", "apiKey"],
    run: (c, { team, roomId }) => c.patch(`/organizations/${team.orgId}/rooms/${roomId}`, { metadata: { color: "blue" } }),
  },
  {
    name: "DELETE room",
    success: 204,
    allowed: ["owner", "admin", "apiKey"],
    run: (c, { team, roomId }) => c.delete(`/organizations/${team.orgId}/rooms/${roomId}`),
  },
  {
    name: "POST access-token",
    success: 201,
    allowed: ["owner", "admin", "apiKey"],
    run: (c, { team }) => c.post(`/organizations/${team.orgId}/access-tokens`, { userId: "end-user", permissions: { "*": ["room:read"] } }),
  },
  {
    name: "POST room token (join from the dashboard)",
    success: 201,
    allowed: ["owner", "admin", "member", "viewer"],
    run: (c, { team, roomId }) => c.post(`/organizations/${team.orgId}/rooms/${roomId}/token`),
  },
];

describe("permission matrix", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let db: Database;
  const providers: TestProvider[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", STORE_DEBOUNCE_MS: "50", STORE_MAX_DEBOUNCE_MS: "200" });
    db = openDatabase(testDatabaseUrl());
  });
  beforeEach(() => truncateAll());
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
    await db.close();
    await mailbox.close();
  });

  function clientOf(team: Team, actor: ActorName): ApiClient {
    return actor === "apiKey" ? team.apiKey.client : team[actor].client;
  }

  it("each role and an API key get exactly the REST calls the policy allows", async () => {
    const team = await createTeam(server.httpUrl, mailbox);
    const outcomes: string[] = [];
    for (const op of OPERATIONS) {
      for (const actor of ACTORS) {
        const roomId = `room-${op.name.replace(/\W+/g, "-")}-${actor}`;
        const created = await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: roomId });
        expect(created.status, "fixture room").to.equal(201);
        const candidateEmail = op.name === "POST member" ? (await signUp(server.httpUrl, mailbox)).user.email : "";
        const response = await op.run(clientOf(team, actor), { team, candidateEmail, roomId });
        const expected = op.allowed.includes(actor) ? op.success : 403;
        outcomes.push(`${op.name} as ${actor}: ${response.status}${response.status === expected ? "" : ` (expected ${expected})`}`);
        if (expected === 403) expect(response.body.error.code, `${op.name} as ${actor}`).to.equal("forbidden");
      }
    }
    expect(outcomes.filter((o) => o.includes("expected")), outcomes.join("\n")).to.deep.equal([]);
  });

  it("a member's dashboard token writes; a viewer's is read-only", async () => {
    const team = await createTeam(server.httpUrl, mailbox);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "doc" });
    const memberToken = await team.member.client.post(`/organizations/${team.orgId}/rooms/doc/token`);
    const viewerToken = await team.viewer.client.post(`/organizations/${team.orgId}/rooms/doc/token`);
    expect(memberToken.body.permissions).to.deep.equal(["room:write", "comments:write"]);
    expect(viewerToken.body.permissions).to.deep.equal(["room:read", "comments:read"]);
    const member = connectProvider(server.collabUrl, "doc", memberToken.body.token);
    const viewer = connectProvider(server.collabUrl, "doc", viewerToken.body.token);
    providers.push(member, viewer);
    await Promise.all([waitForSynced(member), waitForSynced(viewer)]);
    member.text.insert(0, "from member");
    await waitFor(() => viewer.text.toString() === "from member", 5000, "viewer to see the member's edit");
    viewer.text.insert(0, "from viewer ");
    // The server refuses the viewer's update: the member never sees it.
    member.text.insert(member.text.length, "!");
    await waitForAcked(member);
    await waitFor(() => viewer.text.toString().endsWith("!"), 5000, "viewer to receive the next edit");
    expect(member.text.toString()).to.equal("from member!");
    expect(server.app.hocuspocus.documents.get(toDocumentName(team.orgId, "doc"))!.getText("content").toString()).to.equal("from member!");
  });

  it("access-token permissions: room:write edits, room:read is read-only, an ungranted room is refused with 4403", async () => {
    const team = await createTeam(server.httpUrl, mailbox);
    const mint = async (permissions: Record<string, string[]>) => {
      const r = await team.apiKey.client.post(`/organizations/${team.orgId}/access-tokens`, { userId: "u", permissions });
      expect(r.status).to.equal(201);
      return r.body.token as string;
    };
    const writer = connectProvider(server.collabUrl, "shared", await mint({ "shared": ["room:write"] }));
    providers.push(writer);
    await waitForSynced(writer);
    writer.text.insert(0, "base");
    await waitForAcked(writer);

    // room:read: a raw socket authenticates and then pushes an update and a sync step 2.
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    raw.send(authFrame("shared", await mint({ "shar*": ["room:read", "room:presence:write"] })));
    await waitForAuthenticated(raw);
    const evil = new Y.Doc();
    evil.getText("content").insert(0, "EVIL");
    const update = Y.encodeStateAsUpdate(evil);
    raw.send(updateFrame("shared", update));
    const step2 = encoding.createEncoder();
    encoding.writeVarString(step2, "shared");
    encoding.writeVarUint(step2, MessageType.Sync);
    encoding.writeVarUint(step2, SyncStep.Step2);
    encoding.writeVarUint8Array(step2, update);
    raw.send(encoding.toUint8Array(step2));
    // The server answers each with a negative sync status (not applied).
    await waitFor(() => raw.received.filter((f) => frameType(f).type === MessageType.SyncStatus && frameType(f).sub === 0).length >= 2, 5000, "two refusals");

    writer.text.insert(4, "!");
    await waitForAcked(writer);
    expect(writer.text.toString()).to.equal("base!");
    const name = toDocumentName(team.orgId, "shared");
    expect(server.app.hocuspocus.documents.get(name)!.getText("content").toString()).to.equal("base!");
    await waitFor(() => server.app.hocuspocus.documents.get(name) !== undefined, 1000);
    server.app.hocuspocus.flushPendingStores();
    await server.app.updateLog.drain();
    const stored = await readStored(db, team.orgId, "shared");
    expect(storedText(stored)).to.equal("base!");
    for (const row of stored.log) expect(Buffer.from(row.data).includes(Buffer.from("EVIL"))).to.equal(false);

    // A room the token does not grant.
    const other = await openRawSocket(server.collabUrl);
    sockets.push(other);
    other.send(authFrame("private", await mint({ "shared": ["room:write"] })));
    expect((await closedWith(other.closed)).code).to.equal(4403);
  });

  it("no token, a malformed token and an expired token are refused with 4401", async () => {
    const team = await createTeam(server.httpUrl, mailbox);
    const expired = await server.app.tokens.sign(
      { userId: "u", orgId: team.orgId, permissions: { "*": ["room:write"] }, userInfo: {}, issuer: { kind: "api_key", id: team.apiKey.id } },
      new Date(Date.now() - 2 * 3600 * 1000),
    );
    for (const token of ["", "not-a-jwt", expired.token]) {
      const raw = await openRawSocket(server.collabUrl);
      sockets.push(raw);
      raw.send(authFrame("room", token));
      const closed = await closedWith(raw.closed);
      expect(closed.code, `token ${JSON.stringify(token.slice(0, 10))}`).to.equal(4401);
    }
  });
});
