import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll, tempSqliteUrl } from "../../helpers/database.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { ApiClient, signUp, startMailbox, tokenFromMail, type Mailbox } from "../../helpers/accounts.ts";

describe("the flow a new team follows", () => {
  let mailbox: Mailbox;
  let server: TestServer;
  const clients: TestProvider[] = [];

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  beforeEach(() => truncateAll());
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  it("registers, verifies from the mail, logs in, creates an org, a key, a room, and two end users edit together", async () => {
    const api = new ApiClient(`${server.httpUrl}/api`);
    const email = "founder@example.test";
    const registered = await api.post("/auth/register", { email, password: "a long password", name: "Founder" });
    // The same answer as for a taken email (test/integration/accounts/auth-abuse.test.ts).
    expect(registered.status).to.equal(202);
    expect(registered.body).to.have.keys(["message"]);
    // The account is written, and its mail sent, after the answer.
    await mailbox.waitForMail(email, /verify/i);

    // Logging in before verifying is refused.
    const early = await api.post("/auth/login", { email, password: "a long password" });
    expect(early.status).to.equal(403);
    expect(early.body.error.code).to.equal("email_not_verified");

    // A lost mail can be sent again; the first link stays valid too.
    expect((await api.post("/auth/resend-verification", { email })).status).to.equal(202);
    await waitFor(() => mailbox.messages.filter((m) => m.to.includes(email)).length === 2, 5000, "second verification mail");
    expect((await api.post("/auth/resend-verification", { email: "nobody@example.test" })).status).to.equal(202);
    const mail = await mailbox.waitForMail(email, /verify/i);
    expect(mail.text).to.include(`${server.app.config.http.publicUrl}/verify-email?token=`);
    const verified = await api.post("/auth/verify-email", { token: tokenFromMail(mail) });
    expect(verified.status).to.equal(200);
    expect(verified.body.user.emailVerified).to.equal(true);
    // Single use.
    const again = await api.post("/auth/verify-email", { token: tokenFromMail(mail) });
    expect(again.status).to.equal(400);
    expect(again.body.error.code).to.equal("invalid_token");

    const login = await api.post("/auth/login", { email, password: "a long password" });
    expect(login.status).to.equal(200);
    const setCookie = login.headers.getSetCookie().join("\n");
    expect(setCookie).to.match(/syncforge\.sid=/);
    expect(setCookie).to.match(/HttpOnly/i);
    expect(setCookie).to.match(/SameSite=Lax/i);
    expect((await api.get("/me")).body.user.email).to.equal(email);

    const org = await api.post("/organizations", { name: "Acme" });
    expect(org.status).to.equal(201);
    expect(org.body.organization).to.include({ name: "Acme", role: "owner", plan_type: "self_hosted" });
    const orgId = org.body.organization.id;

    const key = await api.post(`/organizations/${orgId}/api-keys`, { name: "backend" });
    expect(key.status).to.equal(201);
    const secret: string = key.body.apiKey.secret;
    expect(secret).to.match(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(key.body.apiKey.prefix).to.equal(secret.slice(0, 12));
    const listed = await api.get(`/organizations/${orgId}/api-keys`);
    expect(JSON.stringify(listed.body)).to.not.include(secret);

    const backend = new ApiClient(`${server.httpUrl}/api`, secret);
    const room = await backend.post(`/organizations/${orgId}/rooms`, { id: "design-review", name: "Design review", maxParticipants: 10 });
    expect(room.status).to.equal(201);
    expect(room.body.room).to.include({ id: "design-review", name: "Design review", maxParticipants: 10 });

    const mint = async (userId: string) => {
      const r = await backend.post(`/organizations/${orgId}/access-tokens`, {
        userId,
        userInfo: { name: userId, color: "#f00" },
        permissions: { "design-review": ["room:write"] },
      });
      expect(r.status).to.equal(201);
      expect(new Date(r.body.expiresAt).getTime()).to.be.greaterThan(Date.now());
      return r.body.token as string;
    };
    const alice = connectProvider(server.collabUrl, "design-review", await mint("alice"));
    const bob = connectProvider(server.collabUrl, "design-review", await mint("bob"));
    clients.push(alice, bob);
    await Promise.all([waitForSynced(alice), waitForSynced(bob)]);
    alice.text.insert(0, "hello ");
    bob.text.insert(0, "world ");
    await waitFor(() => alice.text.length === 12 && alice.text.toString() === bob.text.toString(), 5000, "convergence");

    const logout = await api.post("/auth/logout");
    expect(logout.status).to.equal(204);
    expect((await api.get("/me")).status).to.equal(401);
  });

  it("resets a forgotten password with a single-use link and does not reveal unknown emails", async () => {
    const { client, password } = await signUp(server.httpUrl, mailbox, { email: "forgetful@example.test" });
    const anon = new ApiClient(`${server.httpUrl}/api`);
    const unknown = await anon.post("/auth/forgot-password", { email: "nobody@example.test" });
    const known = await anon.post("/auth/forgot-password", { email: "forgetful@example.test" });
    expect(unknown.status).to.equal(202);
    expect(known.status).to.equal(202);
    expect(unknown.body).to.deep.equal(known.body);
    const mail = await mailbox.waitForMail("forgetful@example.test", /reset/i);
    expect(mailbox.messages.some((m) => m.to.includes("nobody@example.test"))).to.equal(false);
    const token = tokenFromMail(mail);

    const reset = await anon.post("/auth/reset-password", { token, password: "a brand new password" });
    expect(reset.status).to.equal(200);
    const reused = await anon.post("/auth/reset-password", { token, password: "another new password" });
    expect(reused.status).to.equal(400);
    expect(reused.body.error.code).to.equal("invalid_token");

    // The old session ended with the reset; the old password no longer works, the new one does.
    expect((await client.get("/me")).status).to.equal(401);
    expect((await anon.post("/auth/login", { email: "forgetful@example.test", password })).status).to.equal(401);
    expect((await anon.post("/auth/login", { email: "forgetful@example.test", password: "a brand new password" })).status).to.equal(200);
  });
});

describe("dashboard sessions", () => {
  let mailbox: Mailbox;

  before(async () => {
    mailbox = await startMailbox();
    await truncateAll();
  });
  after(() => mailbox.close());

  it("live in the database: a session survives a server restart", async () => {
    const env = { SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" };
    const first = await startServer(env);
    let cookie: string | null;
    try {
      const { client } = await signUp(first.httpUrl, mailbox, { email: "restart@example.test" });
      cookie = client.sessionCookie;
      expect(cookie).to.be.a("string");
      const rows = await first.app.db.models.Session.findAll();
      expect(rows.map((r) => r.userId)).to.include((await client.get("/me")).body.user.id);
    } finally {
      await first.close();
    }
    const second = await startServer(env);
    try {
      const me = await fetch(`${second.httpUrl}/api/me`, { headers: { cookie: cookie! } });
      expect(me.status).to.equal(200);
      expect(((await me.json()) as { user: { email: string } }).user.email).to.equal("restart@example.test");
    } finally {
      await second.close();
    }
  });

  it("are Secure cookies in production (behind a TLS proxy named by TRUST_PROXY)", async () => {
    const server = await startServer({
      NODE_ENV: "production",
      SMTP_URL: mailbox.smtpUrl,
      BCRYPT_ROUNDS: "10",
      AUTH_RATE_LIMIT: "100000",
      LOG_LEVEL: "error",
      TRUST_PROXY: "1",
    });
    try {
      const api = new ApiClient(`${server.httpUrl}/api`);
      const credentials = { email: "prod@example.test", password: "correct horse battery" };
      expect((await api.post("/auth/register", { ...credentials, name: "Prod" })).status).to.equal(202);
      const mail = await mailbox.waitForMail(credentials.email, /verify/i);
      expect((await api.post("/auth/verify-email", { token: tokenFromMail(mail) })).status).to.equal(200);
      // Over plain HTTP a production server never sends the session cookie.
      const plain = await api.post("/auth/login", credentials);
      expect(plain.headers.getSetCookie()).to.deep.equal([]);
      const login = await api.request("POST", "/auth/login", credentials, { "x-forwarded-proto": "https" });
      expect(login.status).to.equal(200);
      const setCookie = login.headers.getSetCookie().join("\n");
      expect(setCookie).to.match(/syncforge\.sid=/);
      expect(setCookie).to.match(/; Secure/i);
      expect(setCookie).to.match(/HttpOnly/i);
    } finally {
      await server.close();
    }
  });
});

describe("accounts on SQLite (the default database)", () => {
  let mailbox: Mailbox;
  let server: TestServer;
  let client: TestProvider | null = null;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ DATABASE_URL: tempSqliteUrl(), SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
  });
  after(async () => {
    client?.destroy();
    await server.close();
    await mailbox.close();
  });

  it("runs the same flow: sign up, org, key, room with metadata, token, edit", async () => {
    const { client: api } = await signUp(server.httpUrl, mailbox, { email: "lite@example.test" });
    const orgId = (await api.post("/organizations", { name: "Lite" })).body.organization.id;
    const secret = (await api.post(`/organizations/${orgId}/api-keys`, { name: "k" })).body.apiKey.secret;
    const backend = new ApiClient(`${server.httpUrl}/api`, secret);
    const room = await backend.post(`/organizations/${orgId}/rooms`, { id: "lite", metadata: { a: [1, 2] }, defaultAccess: ["room:read"] });
    expect(room.status).to.equal(201);
    expect((await backend.get(`/organizations/${orgId}/rooms/lite`)).body.room).to.deep.include({ metadata: { a: [1, 2] }, defaultAccess: ["room:read"] });
    const token = (await backend.post(`/organizations/${orgId}/access-tokens`, { userId: "u", permissions: { lite: ["room:write"] } })).body.token;
    client = connectProvider(server.collabUrl, "lite", token);
    await waitForSynced(client);
    client.text.insert(0, "on sqlite");
    await waitFor(() => server.app.hocuspocus.documents.get(toDocumentName(orgId, "lite"))?.getText("content").toString() === "on sqlite", 5000, "server to apply");
  });

  it("reports emailVerified: false until the address is verified", async () => {
    // SQLite returns no row from the INSERT, so the new account's emailVerifiedAt was undefined, not null.
    const api = new ApiClient(`${server.httpUrl}/api`);
    const email = "unverified@example.test";
    const registered = await api.post("/auth/register", { email, password: "a long password", name: "New" });
    // Register answers 202 with no account view (it must not tell a taken email from a new one).
    expect(registered.status).to.equal(202);
    expect(registered.body.user).to.equal(undefined);
    expect((await api.get("/me")).status).to.equal(401);
    const verified = await api.post("/auth/verify-email", { token: tokenFromMail(await mailbox.waitForMail(email, /verify/i)) });
    expect(verified.body.user.emailVerified).to.equal(true);
    expect((await api.post("/auth/login", { email, password: "a long password" })).status).to.equal(200);
    expect((await api.get("/me")).body.user.emailVerified).to.equal(true);
  });
});
