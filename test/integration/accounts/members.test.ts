/**
 * Members and roles: added by email (an accepted invitation), roles changed and removed by Owners and Admins, an Admin
 * never touches an Owner, and an organisation always keeps at least one Owner.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { ApiClient, createTeam, joinByInvitation, signUp, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";

describe("members and roles", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let team: Team;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  beforeEach(async () => {
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  const members = (suffix = "") => `/organizations/${team.orgId}/members${suffix}`;

  it("lists members with their roles; adds by email through an accepted invitation; refuses duplicates", async () => {
    const list = await team.viewer.client.get(members());
    expect(list.body.data.map((m: { role: string }) => m.role).sort()).to.deep.equal(["admin", "member", "owner", "viewer"]);
    const newcomer = await signUp(server.httpUrl, mailbox);
    await joinByInvitation(team.admin.client, newcomer.client, mailbox, team.orgId, newcomer.user.email.toUpperCase(), "member");
    // The newcomer now sees the org.
    const orgs = await newcomer.client.get("/organizations");
    expect(orgs.body.data.map((o: { id: string; role: string }) => [o.id, o.role])).to.deep.equal([[team.orgId, "member"]]);
    // …and finds an added_to_org notification in its inbox for this org.
    const inbox = await newcomer.client.get(`/organizations/${team.orgId}/users/${newcomer.user.id}/inbox-notifications`);
    expect(inbox.status).to.equal(200);
    expect(inbox.body.data.map((n: { kind: string; data: { role?: string } }) => [n.kind, n.data.role])).to.deep.equal([["added_to_org", "member"]]);
    const again = await team.owner.client.post(members(), { email: newcomer.user.email, role: "viewer" });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("already_member");
    // An unknown email is invited like any other (test/integration/accounts/invitations.test.ts).
    const unknown = await team.owner.client.post(members(), { email: "ghost@example.test", role: "viewer" });
    expect(unknown.status).to.equal(202);
  });

  it("an Admin manages non-owners but may not grant, change or remove an Owner", async () => {
    const admin = team.admin.client;
    expect((await admin.patch(members(`/${team.member.user.id}`), { role: "viewer" })).body.member.role).to.equal("viewer");
    expect((await admin.patch(members(`/${team.viewer.user.id}`), { role: "owner" })).body.error.code).to.equal("forbidden_role");
    expect((await admin.patch(members(`/${team.owner.user.id}`), { role: "viewer" })).status).to.equal(403);
    expect((await admin.delete(members(`/${team.owner.user.id}`))).status).to.equal(403);
    const newcomer = await signUp(server.httpUrl, mailbox);
    expect((await admin.post(members(), { email: newcomer.user.email, role: "owner" })).status).to.equal(403);
    expect((await admin.delete(members(`/${team.viewer.user.id}`))).status).to.equal(204);
    expect((await team.viewer.client.get(`/organizations/${team.orgId}`)).status).to.equal(404);
  });

  it("always keeps at least one Owner; ownership can be handed over", async () => {
    const owner = team.owner.client;
    const demote = await owner.patch(members(`/${team.owner.user.id}`), { role: "admin" });
    expect(demote.status).to.equal(409);
    expect(demote.body.error.code).to.equal("last_owner");
    const leave = await owner.delete(members(`/${team.owner.user.id}`));
    expect(leave.status).to.equal(409);
    expect(leave.body.error.code).to.equal("last_owner");

    expect((await owner.patch(members(`/${team.admin.user.id}`), { role: "owner" })).body.member.role).to.equal("owner");
    expect((await owner.patch(members(`/${team.owner.user.id}`), { role: "viewer" })).status).to.equal(200);
    // The former owner is now a viewer: reads, never writes.
    expect((await owner.get(`/organizations/${team.orgId}/rooms`)).status).to.equal(200);
    expect((await owner.post(`/organizations/${team.orgId}/rooms`, { id: "x" })).status).to.equal(403);
    const newOwner = team.admin.client;
    const last = await newOwner.delete(members(`/${team.admin.user.id}`));
    expect(last.body.error.code).to.equal("last_owner");
  });

  it("organisation settings: the name; plan_type, max_rooms and max_monthly_connections are not writable by members (403 plan_not_writable)", async () => {
    const renamed = await team.owner.client.patch(`/organizations/${team.orgId}`, { name: "Renamed" });
    expect(renamed.status).to.equal(200);
    expect(renamed.body.organization).to.include({ name: "Renamed" });
    for (const body of [{ plan_type: "pro" }, { max_rooms: 500 }, { max_monthly_connections: 50000 }, { name: "X", plan_type: "enterprise" }]) {
      const patched = await team.owner.client.patch(`/organizations/${team.orgId}`, body);
      expect(patched.status, JSON.stringify(body)).to.equal(403);
      expect(patched.body.error.code).to.equal("plan_not_writable");
    }
    // Nothing changed: billing is off here, so no plan applies and nothing is limited.
    const read = await new ApiClient(team.apiKey.client.baseUrl, team.apiKey.secret).get(`/organizations/${team.orgId}`);
    expect(read.body.organization).to.include({ name: "Renamed", plan_type: "self_hosted", max_rooms: null, max_monthly_connections: null });
  });
});
