/**
 * Tenant isolation: org B's API key, session and access tokens never read or write org A's rooms,
 * members, keys or documents, including with guessed ids; two orgs with room id "demo" keep
 * separate documents while both address it as "demo".
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForAcked, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { closedWith, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { openRawSocket, authFrame, type RawSocket } from "../../helpers/raw-socket.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

describe("tenant isolation", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let a: Team;
  let b: Team;
  const providers: TestProvider[] = [];
  const sockets: RawSocket[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  beforeEach(async () => {
    await truncateAll();
    a = await createTeam(server.httpUrl, mailbox, "A");
    b = await createTeam(server.httpUrl, mailbox, "B");
    expect((await a.apiKey.client.post(`/organizations/${a.orgId}/rooms`, { id: "secret-plans" })).status).to.equal(201);
  });
  afterEach(async () => {
    while (providers.length) providers.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  async function mint(team: Team, permissions: Record<string, string[]>): Promise<string> {
    const r = await team.apiKey.client.post(`/organizations/${team.orgId}/access-tokens`, { userId: "someone", permissions });
    expect(r.status).to.equal(201);
    return r.body.token;
  }

  it("org B's key and sessions get 404 for everything under org A, including guessed ids", async () => {
    const aKeyId = a.apiKey.id;
    const aOwnerId = a.owner.user.id;
    const paths: Array<[string, string, unknown?]> = [
      ["GET", `/organizations/${a.orgId}`],
      ["PATCH", `/organizations/${a.orgId}`, { name: "pwned" }],
      ["GET", `/organizations/${a.orgId}/members`],
      ["POST", `/organizations/${a.orgId}/members`, { email: b.owner.user.email, role: "owner" }],
      ["PATCH", `/organizations/${a.orgId}/members/${aOwnerId}`, { role: "viewer" }],
      ["DELETE", `/organizations/${a.orgId}/members/${aOwnerId}`],
      ["GET", `/organizations/${a.orgId}/api-keys`],
      ["POST", `/organizations/${a.orgId}/api-keys`, { name: "mine now" }],
      ["DELETE", `/organizations/${a.orgId}/api-keys/${aKeyId}`],
      ["POST", `/organizations/${a.orgId}/api-keys/${aKeyId}/rotate`, {}],
      ["GET", `/organizations/${a.orgId}/rooms`],
      ["POST", `/organizations/${a.orgId}/rooms`, { id: "planted" }],
      ["GET", `/organizations/${a.orgId}/rooms/secret-plans`],
      ["PATCH", `/organizations/${a.orgId}/rooms/secret-plans`, { name: "x" }],
      ["DELETE", `/organizations/${a.orgId}/rooms/secret-plans`],
      ["POST", `/organizations/${a.orgId}/access-tokens`, { userId: "x", permissions: { "*": ["room:write"] } }],
      ["POST", `/organizations/${a.orgId}/rooms/secret-plans/token`, {}],
      ["GET", `/organizations/${randomUUID()}`],
      ["GET", `/organizations/not-a-uuid/rooms`],
    ];
    for (const client of [b.apiKey.client, b.owner.client, b.viewer.client]) {
      for (const [method, path, body] of paths) {
        const r = await client.request(method, path, body);
        expect(r.status, `${method} ${path}`).to.equal(404);
        expect(r.body.error.code, `${method} ${path}`).to.equal("org_not_found");
      }
    }
    // Ids of org A's objects used under org B's own id are just as unknown.
    expect((await b.owner.client.delete(`/organizations/${b.orgId}/api-keys/${aKeyId}`)).status).to.equal(404);
    expect((await b.owner.client.post(`/organizations/${b.orgId}/api-keys/${aKeyId}/rotate`, {})).status).to.equal(404);
    expect((await b.owner.client.patch(`/organizations/${b.orgId}/members/${aOwnerId}`, { role: "viewer" })).status).to.equal(404);
    expect((await b.owner.client.delete(`/organizations/${b.orgId}/members/${aOwnerId}`)).status).to.equal(404);
    expect((await b.apiKey.client.get(`/organizations/${b.orgId}/rooms/secret-plans`)).status).to.equal(404);
    expect((await b.apiKey.client.get(`/organizations/${b.orgId}/rooms`)).body.data).to.deep.equal([]);
    // B's listing shows only B.
    const orgs = await b.owner.client.get("/organizations");
    expect(orgs.body.data.map((o: { id: string }) => o.id)).to.deep.equal([b.orgId]);
    const keyOrgs = await b.apiKey.client.get("/organizations");
    expect(keyOrgs.body.data.map((o: { id: string }) => o.id)).to.deep.equal([b.orgId]);

    // Nothing of A changed.
    expect((await a.owner.client.get(`/organizations/${a.orgId}`)).body.organization.name).to.equal("A");
    expect((await a.owner.client.get(`/organizations/${a.orgId}/members`)).body.data).to.have.length(4);
    const keys = (await a.owner.client.get(`/organizations/${a.orgId}/api-keys`)).body.data;
    expect(keys).to.have.length(1);
    expect(keys[0].revokedAt).to.equal(null);
    expect((await a.apiKey.client.get(`/organizations/${a.orgId}/rooms/secret-plans`)).status).to.equal(200);
  });

  it("two orgs with room id demo have separate documents, both addressed as demo", async () => {
    const inA = connectProvider(server.collabUrl, "demo", await mint(a, { demo: ["room:write"] }));
    const inB = connectProvider(server.collabUrl, "demo", await mint(b, { demo: ["room:write"] }));
    providers.push(inA, inB);
    await Promise.all([waitForSynced(inA), waitForSynced(inB)]);
    inA.text.insert(0, "A's text");
    inB.text.insert(0, "B's text");
    await Promise.all([waitForAcked(inA), waitForAcked(inB)]);
    const again = connectProvider(server.collabUrl, "demo", await mint(a, { "*": ["room:read"] }));
    providers.push(again);
    await waitFor(() => again.text.toString() === "A's text", 5000, "A's late joiner");
    expect(inA.text.toString()).to.equal("A's text");
    expect(inB.text.toString()).to.equal("B's text");
    const docs = server.app.hocuspocus.documents;
    expect(docs.get(toDocumentName(a.orgId, "demo"))!.getText("content").toString()).to.equal("A's text");
    expect(docs.get(toDocumentName(b.orgId, "demo"))!.getText("content").toString()).to.equal("B's text");
    // Each org got its own room record.
    expect((await a.apiKey.client.get(`/organizations/${a.orgId}/rooms/demo`)).status).to.equal(200);
    expect((await b.apiKey.client.get(`/organizations/${b.orgId}/rooms/demo`)).status).to.equal(200);
  });

  it("org B's access token cannot open org A's room, even one it names", async () => {
    const raw = await openRawSocket(server.collabUrl);
    sockets.push(raw);
    // B's token names the room; the server still resolves it inside B, where it does not leak A's document.
    const bToken = await mint(b, { "secret-plans": ["room:write"] });
    const bClient = connectProvider(server.collabUrl, "secret-plans", bToken);
    providers.push(bClient);
    const aWriter = connectProvider(server.collabUrl, "secret-plans", await mint(a, { "secret-plans": ["room:write"] }));
    providers.push(aWriter);
    await Promise.all([waitForSynced(bClient), waitForSynced(aWriter)]);
    aWriter.text.insert(0, "A only");
    await waitForAcked(aWriter);
    bClient.text.insert(0, "B only");
    await waitForAcked(bClient);
    expect(bClient.text.toString()).to.equal("B only");
    expect(aWriter.text.toString()).to.equal("A only");
    // A token whose org claim was edited fails its signature.
    const [h, p, s] = bToken.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    payload.org = a.orgId;
    raw.send(authFrame("secret-plans", `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`));
    expect((await closedWith(raw.closed)).code).to.equal(4401);
  });
});
