/**
 * Deleting an organisation: Owners only; its rooms go as a room deletion does (live connections
 * closed, documents removed), its keys stop, its members lose it; another tenant's id is 404;
 * refused while a Stripe subscription still bills it.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";

describe("deleting an organisation", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let team: Team;
  const providers: TestProvider[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(() => {
    while (providers.length) providers.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const org = (suffix = "") => `/organizations/${team.orgId}${suffix}`;

  it("is for Owners only: Admins, Members, Viewers and API keys are refused, another organisation's Owner gets 404", async () => {
    for (const client of [team.admin.client, team.member.client, team.viewer.client, team.apiKey.client]) {
      expect((await client.delete(org())).status).to.equal(403);
    }
    const other = await createTeam(server.httpUrl, mailbox, "Other");
    const refused = await other.owner.client.delete(org());
    expect(refused.status).to.equal(404);
    expect((await team.owner.client.get(org())).status).to.equal(200);
  });

  it("deletes its rooms (closing their connections), stops its keys and removes it from its members", async () => {
    expect((await team.apiKey.client.post(org("/rooms"), { id: "doomed" })).status).to.equal(201);
    const minted = await team.apiKey.client.post(org("/access-tokens"), { userId: "ann", permissions: { doomed: ["room:write"] } });
    const ann = connectProvider(server.collabUrl, "doomed", minted.body.token);
    providers.push(ann);
    const closeCodes: number[] = [];
    ann.socket.on("close", ({ event }: { event: { code: number } }) => closeCodes.push(event.code));
    await waitForSynced(ann);

    const deleted = await team.owner.client.delete(org());
    expect(deleted.status).to.equal(204);
    await waitFor(() => closeCodes.length > 0, 5000, "the room's connection to close");
    expect(closeCodes[0]).to.be.oneOf([4404, 4401]);
    expect((await team.owner.client.get(org())).status).to.equal(404);
    expect((await team.viewer.client.get("/organizations")).body.data).to.deep.equal([]);
    expect((await team.apiKey.client.get(org("/rooms"))).status).to.equal(401);
    expect(await server.app.db.models.Room.count({ where: { orgId: team.orgId } })).to.equal(0);
  });

  it("is refused while a subscription still bills it", async () => {
    await server.app.db.models.BillingAccount.create({ orgId: team.orgId, stripeCustomerId: "cus_1", stripeSubscriptionId: "sub_1", plan: "pro", status: "active" });
    const refused = await team.owner.client.delete(org());
    expect(refused.status).to.equal(409);
    expect(refused.body.error.code).to.equal("subscription_active");
    expect((await team.owner.client.get(org())).status).to.equal(200);
  });
});
