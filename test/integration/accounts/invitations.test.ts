/**
 * Adding a member by email never tells the caller whether the email has an account: both answer
 * 202 with a pending invitation, both get a mail with a single-use link, and the invitee joins by
 * accepting it, signed in with that email or by signing up through it.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { tempSqliteUrl, truncateAll } from "../../helpers/database.ts";
import { ApiClient, createTeam, joinByInvitation, signUp, startMailbox, tokenFromMail, type Mailbox, type Team } from "../../helpers/accounts.ts";

/** The body with what legitimately differs (ids, times, the email itself) masked. */
function shapeOf(body: unknown): string {
  return JSON.stringify(body, (key, value) =>
    typeof value === "string" && ["id", "email", "created_at", "expires_at"].includes(key) ? "…" : value,
  );
}

describe("invitations", function () {
  this.timeout(60_000);
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
  const invitations = (suffix = "") => `/organizations/${team.orgId}/invitations${suffix}`;
  const anon = () => new ApiClient(`${server.httpUrl}/api`);

  it("adding an unknown email answers exactly as adding an account's email; both get an invitation, neither joins yet", async () => {
    const known = await signUp(server.httpUrl, mailbox, { email: "known@example.test" });
    const toKnown = await team.admin.client.post(members(), { email: "Known@Example.test", role: "member" });
    const toUnknown = await team.admin.client.post(members(), { email: "ghost@example.test", role: "member" });
    expect(toUnknown.status).to.equal(toKnown.status);
    expect(toKnown.status).to.equal(202);
    expect(shapeOf(toUnknown.body)).to.equal(shapeOf(toKnown.body));
    expect(toKnown.body.invitation).to.include({ email: "known@example.test", role: "member", invited_by: team.admin.user.id });

    for (const email of ["known@example.test", "ghost@example.test"]) {
      const mail = await mailbox.waitForMail(email, /invit/i);
      expect(mail.text).to.include(`${server.app.config.http.publicUrl}/accept-invitation?token=`);
      expect(mail.text).to.include("Acme");
    }
    // Nobody joined: the known account is not in the org until it accepts.
    const list = await team.owner.client.get(members());
    expect(list.body.data.map((m: { email: string }) => m.email)).to.not.include("known@example.test");
    expect((await known.client.get("/organizations")).body.data).to.deep.equal([]);
    const pending = await team.owner.client.get(invitations());
    expect(pending.status).to.equal(200);
    expect(pending.body.data.map((i: { email: string }) => i.email).sort()).to.deep.equal(["ghost@example.test", "known@example.test"]);
  });

  it("an account accepts signed in with the invited email; the link works once and for nobody else", async () => {
    const invitee = await signUp(server.httpUrl, mailbox, { email: "invitee@example.test" });
    const stranger = await signUp(server.httpUrl, mailbox, { email: "stranger@example.test" });
    await team.owner.client.post(members(), { email: "invitee@example.test", role: "viewer" });
    const token = tokenFromMail(await mailbox.waitForMail("invitee@example.test", /invit/i));

    const preview = await anon().post("/invitations/preview", { token });
    expect(preview.status).to.equal(200);
    expect(preview.body.invitation).to.deep.include({ email: "invitee@example.test", role: "viewer" });
    expect(preview.body.invitation.organization).to.deep.equal({ id: team.orgId, name: "Acme" });

    expect((await anon().post("/invitations/accept", { token })).status).to.equal(401);
    const wrong = await stranger.client.post("/invitations/accept", { token });
    expect(wrong.status).to.equal(403);
    expect(wrong.body.error.code).to.equal("invitation_email_mismatch");

    const accepted = await invitee.client.post("/invitations/accept", { token });
    expect(accepted.status).to.equal(200);
    expect(accepted.body.organization).to.include({ id: team.orgId, role: "viewer" });
    expect(accepted.body.member).to.include({ user_id: invitee.user.id, role: "viewer" });
    const orgs = await invitee.client.get("/organizations");
    expect(orgs.body.data.map((o: { id: string; role: string }) => [o.id, o.role])).to.deep.equal([[team.orgId, "viewer"]]);
    const inbox = await invitee.client.get(`/organizations/${team.orgId}/users/${invitee.user.id}/inbox-notifications`);
    expect(inbox.body.data.map((n: { kind: string; data: { role?: string } }) => [n.kind, n.data.role])).to.deep.equal([["added_to_org", "viewer"]]);

    const again = await invitee.client.post("/invitations/accept", { token });
    expect(again.status).to.equal(400);
    expect(again.body.error.code).to.equal("invalid_token");
    expect((await team.owner.client.get(invitations())).body.data).to.deep.equal([]);
    // Inviting a member again is refused: the caller can list the members anyway.
    const dup = await team.owner.client.post(members(), { email: "invitee@example.test", role: "viewer" });
    expect(dup.status).to.equal(409);
    expect(dup.body.error.code).to.equal("already_member");
  });

  it("an unknown email signs up through the link: a verified account, a member, signed in", async () => {
    await team.owner.client.post(members(), { email: "newcomer@example.test", role: "member" });
    const token = tokenFromMail(await mailbox.waitForMail("newcomer@example.test", /invit/i));
    const client = anon();
    const weak = await client.post("/invitations/register", { token, name: "New", password: "short" });
    expect(weak.status).to.equal(400);
    const joined = await client.post("/invitations/register", { token, name: "Newcomer", password: "a long password" });
    expect(joined.status).to.equal(201);
    expect(joined.body.user).to.include({ email: "newcomer@example.test", name: "Newcomer", emailVerified: true });
    expect(joined.body.organization).to.include({ id: team.orgId, role: "member" });
    expect((await client.get("/me")).body.user.email).to.equal("newcomer@example.test");
    expect((await client.get(`/organizations/${team.orgId}/rooms`)).status).to.equal(200);
    expect((await anon().post("/auth/login", { email: "newcomer@example.test", password: "a long password" })).status).to.equal(200);
    expect((await anon().post("/invitations/register", { token, name: "Twice", password: "a long password" })).body.error.code).to.equal("invalid_token");
  });

  it("the link's holder declines: the invitation leaves the pending list and the link stops working", async () => {
    await team.owner.client.post(members(), { email: "unsure@example.test", role: "member" });
    const token = tokenFromMail(await mailbox.waitForMail("unsure@example.test", /invit/i));
    expect((await anon().post("/invitations/decline", { token: "not-a-token" })).body.error.code).to.equal("invalid_token");
    expect((await anon().post("/invitations/decline", { token })).status).to.equal(204);
    expect((await team.owner.client.get(invitations())).body.data).to.deep.equal([]);
    expect((await anon().post("/invitations/preview", { token })).body.error.code).to.equal("invalid_token");
    expect((await anon().post("/invitations/register", { token, name: "Late", password: "a long password" })).body.error.code).to.equal("invalid_token");
    expect((await anon().post("/invitations/decline", { token })).body.error.code).to.equal("invalid_token");
  });

  it("signing up through a link for an email that has an account is refused and leaves the link usable", async () => {
    const existing = await signUp(server.httpUrl, mailbox, { email: "has-account@example.test", password: "the real password" });
    await team.owner.client.post(members(), { email: "has-account@example.test", role: "member" });
    const token = tokenFromMail(await mailbox.waitForMail("has-account@example.test", /invit/i));
    const taken = await anon().post("/invitations/register", { token, name: "Hijack", password: "another password" });
    expect(taken.status).to.equal(409);
    expect(taken.body.error.code).to.equal("email_taken");
    expect((await anon().post("/auth/login", { email: "has-account@example.test", password: "the real password" })).status).to.equal(200);
    expect((await existing.client.post("/invitations/accept", { token })).status).to.equal(200);
  });

  it("Owners and Admins list and revoke pending invitations; a new invitation replaces the old link", async () => {
    await team.owner.client.post(members(), { email: "later@example.test", role: "member" });
    await waitMails("later@example.test", 1);
    const second = await team.admin.client.post(members(), { email: "later@example.test", role: "admin" });
    expect(second.status).to.equal(202);
    const [oldToken, newToken] = (await waitMails("later@example.test", 2)).map(tokenFromMail);
    expect((await anon().post("/invitations/preview", { token: oldToken })).body.error.code).to.equal("invalid_token");
    expect((await anon().post("/invitations/preview", { token: newToken })).body.invitation.role).to.equal("admin");
    const pending = (await team.admin.client.get(invitations())).body.data;
    expect(pending.map((i: { email: string; role: string }) => [i.email, i.role])).to.deep.equal([["later@example.test", "admin"]]);

    expect((await team.member.client.get(invitations())).status).to.equal(403);
    expect((await team.apiKey.client.get(invitations())).status).to.equal(403);
    expect((await team.member.client.delete(invitations(`/${pending[0].id}`))).status).to.equal(403);
    expect((await team.admin.client.delete(invitations(`/${pending[0].id}`))).status).to.equal(204);
    expect((await anon().post("/invitations/preview", { token: newToken })).body.error.code).to.equal("invalid_token");
    expect((await team.admin.client.get(invitations())).body.data).to.deep.equal([]);
    expect((await team.admin.client.delete(invitations(`/${pending[0].id}`))).status).to.equal(404);

    // An Admin may neither invite an Owner nor revoke an Owner's invitation.
    expect((await team.admin.client.post(members(), { email: "boss@example.test", role: "owner" })).status).to.equal(403);
    await team.owner.client.post(members(), { email: "boss@example.test", role: "owner" });
    const boss = (await team.owner.client.get(invitations())).body.data[0];
    expect((await team.admin.client.delete(invitations(`/${boss.id}`))).status).to.equal(403);
  });

  it("invitations to one address are limited per hour (429), whether or not it has an account", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await team.owner.client.post(members(), { email: "spammed@example.test", role: "viewer" }));
    expect(answers.map((a) => a.status)).to.deep.equal([202, 202, 202, 429]);
    expect(answers[3]!.body.error.code).to.equal("rate_limited");
    expect(Number(answers[3]!.headers.get("retry-after"))).to.be.within(1, 3600);
    await mailbox.settle();
    expect(mailbox.mailsTo("spammed@example.test")).to.have.length(3);
  });

  async function waitMails(email: string, count: number) {
    const started = Date.now();
    while (mailbox.mailsTo(email, /invit/i).length < count) {
      if (Date.now() - started > 5000) throw new Error(`expected ${count} invitation mails to ${email}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return mailbox.mailsTo(email, /invit/i);
  }
});

describe("invitations on SQLite (the default database)", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ DATABASE_URL: tempSqliteUrl(), SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  it("invites, signs up through the link, and accepts signed in", async () => {
    const owner = await signUp(server.httpUrl, mailbox, { email: "lite-owner@example.test" });
    const orgId = (await owner.client.post("/organizations", { name: "Lite" })).body.organization.id;
    const known = await signUp(server.httpUrl, mailbox, { email: "lite-known@example.test" });
    await joinByInvitation(owner.client, known.client, mailbox, orgId, "lite-known@example.test", "viewer");
    await owner.client.post(`/organizations/${orgId}/members`, { email: "lite-new@example.test", role: "member" });
    const token = tokenFromMail(await mailbox.waitForMail("lite-new@example.test", /invit/i));
    const joined = await new ApiClient(`${server.httpUrl}/api`).post("/invitations/register", { token, name: "New", password: "a long password" });
    expect(joined.status).to.equal(201);
    const list = await owner.client.get(`/organizations/${orgId}/members`);
    expect(list.body.data.map((m: { email: string; role: string }) => [m.email, m.role])).to.deep.equal([
      ["lite-owner@example.test", "owner"],
      ["lite-known@example.test", "viewer"],
      ["lite-new@example.test", "member"],
    ]);
  });
});
