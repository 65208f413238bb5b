/**
 * The signed-in account's settings: its name, its password (proven by the current one; the other
 * sessions end, this one stays) and its sessions (listed without their ids, ended one by one,
 * only the caller's own).
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { ApiClient, signUp, startMailbox, type Mailbox } from "../../helpers/accounts.ts";

describe("account settings", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let server: TestServer;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  beforeEach(() => truncateAll());
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  /** A second session of the same account (another browser). */
  async function secondSession(email: string, password: string): Promise<ApiClient> {
    const client = new ApiClient(`${server.httpUrl}/api`);
    expect((await client.post("/auth/login", { email, password })).status).to.equal(200);
    return client;
  }

  it("renames the account", async () => {
    const { client } = await signUp(server.httpUrl, mailbox);
    const renamed = await client.patch("/me", { name: "  New Name " });
    expect(renamed.status).to.equal(200);
    expect(renamed.body.user.name).to.equal("New Name");
    expect((await client.get("/me")).body.user.name).to.equal("New Name");
    expect((await client.patch("/me", { name: "" })).body.error.code).to.equal("validation_failed");
    expect((await client.patch("/me", { name: "x", email: "other@example.test" })).status).to.equal(400);
  });

  it("changes the password only with the current one, and ends the other sessions but this one", async () => {
    const { client, user, password } = await signUp(server.httpUrl, mailbox);
    const other = await secondSession(user.email, password);
    const wrong = await client.post("/me/password", { currentPassword: "not it at all", newPassword: "another long password" });
    expect(wrong.status).to.equal(403);
    expect(wrong.body.error.code).to.equal("wrong_password");
    expect((await other.get("/me")).status).to.equal(200);

    expect((await client.post("/me/password", { currentPassword: password, newPassword: "short" })).status).to.equal(400);
    const changed = await client.post("/me/password", { currentPassword: password, newPassword: "another long password" });
    expect(changed.status).to.equal(204);
    expect((await client.get("/me")).status).to.equal(200);
    expect((await other.get("/me")).status).to.equal(401);
    const fresh = new ApiClient(`${server.httpUrl}/api`);
    expect((await fresh.post("/auth/login", { email: user.email, password })).status).to.equal(401);
    expect((await fresh.post("/auth/login", { email: user.email, password: "another long password" })).status).to.equal(200);
  });

  it("lists the account's sessions without their ids and ends one; another account's session is not found", async () => {
    const { client, user, password } = await signUp(server.httpUrl, mailbox);
    const other = await secondSession(user.email, password);
    const list = await client.get("/me/sessions");
    expect(list.status).to.equal(200);
    expect(list.body.data).to.have.length(2);
    expect(list.body.data.filter((s: { current: boolean }) => s.current)).to.have.length(1);
    const cookieSid = decodeURIComponent(client.sessionCookie!.split("=")[1]!);
    for (const s of list.body.data as Array<{ id: string }>) expect(cookieSid).not.to.contain(s.id);

    const stranger = await signUp(server.httpUrl, mailbox);
    const otherId = (list.body.data as Array<{ id: string; current: boolean }>).find((s) => !s.current)!.id;
    const refused = await stranger.client.delete(`/me/sessions/${otherId}`);
    expect(refused.status).to.equal(404);
    expect(refused.body.error.code).to.equal("session_not_found");
    expect((await other.get("/me")).status).to.equal(200);

    expect((await client.delete(`/me/sessions/${otherId}`)).status).to.equal(204);
    expect((await other.get("/me")).status).to.equal(401);
    expect((await client.get("/me/sessions")).body.data).to.have.length(1);
  });

  it("is for signed-in users, not API keys or anonymous callers", async () => {
    const anonymous = new ApiClient(`${server.httpUrl}/api`);
    expect((await anonymous.get("/me/sessions")).status).to.equal(401);
    expect((await anonymous.patch("/me", { name: "x" })).status).to.equal(401);
  });
});
