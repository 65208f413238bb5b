import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { startMailbox, createTeam, ApiClient, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { truncateAll } from "../../helpers/database.ts";

describe("GET /api/organizations/:org_id/rooms/:room_id/active-users", () => {
  let server: TestServer;
  let mailbox: Mailbox;
  let team: Team;
  const clients: Array<TestProvider | YwsClient> = [];
  const ROOM = "standup";

  before(async function () {
    this.timeout(60_000);
    await truncateAll();
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl });
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  async function token(userId: string, name: string): Promise<string> {
    return mintToken({ userId, orgId: team.orgId, permissions: { [ROOM]: ["room:write"] }, userInfo: { name, avatar: `https://example.com/${userId}.png` } });
  }

  it("lists each user once with their connection count, across /collab and /yjs", async () => {
    const tab1 = connectProvider(server.collabUrl, ROOM, await token("ada", "Ada"));
    const tab2 = connectProvider(server.collabUrl, ROOM, await token("ada", "Ada"));
    const bob = connectYws(server.httpUrl, ROOM, await token("bob", "Bob"));
    clients.push(tab1, tab2, bob);
    await Promise.all([waitForSynced(tab1), waitForSynced(tab2), waitFor(() => bob.provider.synced, 5000, "bob")]);

    const url = `/organizations/${team.orgId}/rooms/${ROOM}/active-users`;
    // Presence is recorded once each connection is established; poll until all three are.
    let res = await team.apiKey.client.get(url);
    for (let i = 0; i < 100 && !(res.body?.data?.length === 2 && res.body.data[0].connections === 2); i++) {
      await new Promise((r) => setTimeout(r, 50));
      res = await team.apiKey.client.get(url);
    }
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      data: [
        { id: "ada", info: { name: "Ada", avatar: "https://example.com/ada.png" }, connections: 2 },
        { id: "bob", info: { name: "Bob", avatar: "https://example.com/bob.png" }, connections: 1 },
      ],
    });
    const viewer = await team.viewer.client.get(url);
    expect(viewer.status).to.equal(200);
    expect(viewer.body.data).to.have.length(2);
  });

  it("answers 401 without credentials, 404 for another organisation or an unknown room", async () => {
    const anonymous = await new ApiClient(`${server.httpUrl}/api`).get(`/organizations/${team.orgId}/rooms/${ROOM}/active-users`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body.error).to.have.keys("code", "message");
    const otherOrg = await team.apiKey.client.get(`/organizations/not-our-org/rooms/${ROOM}/active-users`);
    expect(otherOrg.status).to.equal(404);
    const unknownRoom = await team.apiKey.client.get(`/organizations/${team.orgId}/rooms/no-such-room/active-users`);
    expect(unknownRoom.status).to.equal(404);
    expect(unknownRoom.body.error.code).to.equal("room_not_found");
  });
});
