/**
 * Abuse of the auth endpoints, performed against a running server: a rotating X-Forwarded-For
 * against the per-IP limit, mail bombing one address, a stale reset link, and telling who has an
 * account from register's and forgot-password's answers or their timing.
 */
import { expect } from "chai";
import pg from "pg";
import { performance } from "node:perf_hooks";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { waitFor } from "../../helpers/clients.ts";
import { ApiClient, signUp, startMailbox, tokenFromMail, type ApiResponse, type Mailbox } from "../../helpers/accounts.ts";

const FAST = { BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" };

function loginAs(client: ApiClient, forwardedFor: string, i: number): Promise<ApiResponse> {
  return client.request("POST", "/auth/login", { email: "victim@example.test", password: `guess number ${i}` }, { "x-forwarded-for": forwardedFor });
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe("abuse of the auth endpoints", function () {
  this.timeout(60_000);

  describe("the per-IP limit behind (or without) a proxy", () => {
    it("a rotating X-Forwarded-For does not bypass the limit when TRUST_PROXY is unset", async () => {
      const server = await startServer({ AUTH_RATE_LIMIT: "3", BCRYPT_ROUNDS: "4" });
      try {
        const anon = new ApiClient(`${server.httpUrl}/api`);
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push((await loginAs(anon, `203.0.113.${i + 1}`, i)).status);
        expect(statuses).to.deep.equal([401, 401, 401, 429, 429, 429]);
      } finally {
        await server.close();
      }
    });

    it("TRUST_PROXY=1 takes the address the proxy appended: one budget per client, and a forged prefix changes nothing", async () => {
      const server = await startServer({ AUTH_RATE_LIMIT: "3", BCRYPT_ROUNDS: "4", TRUST_PROXY: "1" });
      try {
        const anon = new ApiClient(`${server.httpUrl}/api`);
        // Six clients behind the proxy: each has its own budget.
        const distinct: number[] = [];
        for (let i = 0; i < 6; i++) distinct.push((await loginAs(anon, `198.51.100.${i + 1}`, i)).status);
        expect(distinct).to.deep.equal([401, 401, 401, 401, 401, 401]);
        // One client rotating what it sends before the proxy's entry is still one client.
        const forged: number[] = [];
        for (let i = 0; i < 5; i++) forged.push((await loginAs(anon, `10.0.0.${i + 1}, 192.0.2.77`, i)).status);
        expect(forged).to.deep.equal([401, 401, 401, 429, 429]);
      } finally {
        await server.close();
      }
    });
  });

  describe("mail", () => {
    let mailbox: Mailbox;
    let server: TestServer;
    let anon: ApiClient;

    before(async () => {
      mailbox = await startMailbox();
      server = await startServer({ SMTP_URL: mailbox.smtpUrl, ...FAST });
      anon = new ApiClient(`${server.httpUrl}/api`);
    });
    beforeEach(() => truncateAll());
    after(async () => {
      await server.close();
      await mailbox.close();
    });

    it("sends at most 3 password-reset mails per address per hour, and a refused request keeps the last link valid", async () => {
      const email = "bombed@example.test";
      await signUp(server.httpUrl, mailbox, { email });
      for (let i = 0; i < 6; i++) expect((await anon.post("/auth/forgot-password", { email })).status).to.equal(202);
      await waitFor(() => mailbox.mailsTo(email, /reset/i).length >= 3, 5000, "three reset mails");
      await mailbox.settle();
      const mails = mailbox.mailsTo(email, /reset/i);
      expect(mails).to.have.length(3);
      const last = await anon.post("/auth/reset-password", { token: tokenFromMail(mails[2]!), password: "a brand new password" });
      expect(last.status).to.equal(200);
    });

    it("sends at most 3 verification mails per address per hour (the registration's included)", async () => {
      const email = "unverified@example.test";
      expect((await anon.post("/auth/register", { email, password: "a long password", name: "U" })).status).to.be.within(200, 299);
      await mailbox.waitForMail(email, /verify/i);
      for (let i = 0; i < 5; i++) expect((await anon.post("/auth/resend-verification", { email })).status).to.equal(202);
      await waitFor(() => mailbox.mailsTo(email, /verify/i).length >= 3, 5000, "three verification mails");
      await mailbox.settle();
      expect(mailbox.mailsTo(email, /verify/i)).to.have.length(3);
    });

    it("a new reset link invalidates the one sent before it", async () => {
      const email = "twice@example.test";
      await signUp(server.httpUrl, mailbox, { email });
      await anon.post("/auth/forgot-password", { email });
      await waitFor(() => mailbox.mailsTo(email, /reset/i).length === 1, 5000, "first reset mail");
      await anon.post("/auth/forgot-password", { email });
      await waitFor(() => mailbox.mailsTo(email, /reset/i).length === 2, 5000, "second reset mail");
      const [first, second] = mailbox.mailsTo(email, /reset/i).map(tokenFromMail);
      const old = await anon.post("/auth/reset-password", { token: first, password: "an old link's password" });
      expect(old.status).to.equal(400);
      expect(old.body.error.code).to.equal("invalid_token");
      expect((await anon.post("/auth/reset-password", { token: second, password: "the newest link's password" })).status).to.equal(200);
    });

    it("register with a taken email answers exactly like a fresh registration and mails the owner instead", async () => {
      const owner = await signUp(server.httpUrl, mailbox, { email: "taken@example.test", password: "the owner's password", name: "Owner" });
      const attempt = { password: "an attacker's password", name: "Mallory" };
      const fresh = await anon.post("/auth/register", { email: "fresh@example.test", ...attempt });
      const taken = await anon.post("/auth/register", { email: "taken@example.test", ...attempt });
      expect(taken.status).to.equal(fresh.status);
      expect(JSON.stringify(taken.body).replaceAll("taken@", "X@")).to.equal(JSON.stringify(fresh.body).replaceAll("fresh@", "X@"));
      expect(taken.headers.getSetCookie()).to.deep.equal(fresh.headers.getSetCookie());

      // The fresh address gets its verification link, the owner a notice, with no link that acts.
      await mailbox.waitForMail("fresh@example.test", /verify/i);
      const notice = await mailbox.waitForMail("taken@example.test", /already/i);
      expect(notice.text).to.include(`${server.app.config.http.publicUrl}/forgot-password`);
      expect(notice.text).to.not.match(/token=/);
      // The attempt changed nothing: the owner's password and name stand.
      expect((await anon.post("/auth/login", { email: "taken@example.test", password: attempt.password })).status).to.equal(401);
      expect((await owner.client.get("/me")).body.user).to.include({ name: "Owner", emailVerified: true });
      const login = await new ApiClient(`${server.httpUrl}/api`).post("/auth/login", { email: "taken@example.test", password: "the owner's password" });
      expect(login.status).to.equal(200);

      // Repeated attempts do not bomb the owner.
      for (let i = 0; i < 4; i++) await anon.post("/auth/register", { email: "taken@example.test", ...attempt });
      await mailbox.settle();
      expect(mailbox.mailsTo("taken@example.test", /already/i)).to.have.length(3);
    });
  });

  describe("mail with Redis", () => {
    it("the per-address budget is shared by every process", async () => {
      const mailbox = await startMailbox();
      const env = { SMTP_URL: mailbox.smtpUrl, ...FAST, REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: `sf-mail-${randomUUID()}` };
      const one = await startServer(env);
      const two = await startServer(env);
      try {
        await truncateAll();
        const email = "shared-budget@example.test";
        await signUp(one.httpUrl, mailbox, { email });
        for (const server of [one, two, one, two, one]) {
          expect((await new ApiClient(`${server.httpUrl}/api`).post("/auth/forgot-password", { email })).status).to.equal(202);
        }
        await waitFor(() => mailbox.mailsTo(email, /reset/i).length >= 3, 5000, "three reset mails");
        await mailbox.settle();
        expect(mailbox.mailsTo(email, /reset/i)).to.have.length(3);
      } finally {
        await one.close();
        await two.close();
        await mailbox.close();
      }
    });
  });

  describe("timing", () => {
    it("register: a taken email costs the same password hashing as a fresh one (medians within 2×)", async () => {
      const mailbox = await startMailbox();
      const server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "10", AUTH_RATE_LIMIT: "100000", MAIL_RATE_LIMIT: "1000" });
      try {
        await truncateAll();
        await signUp(server.httpUrl, mailbox, { email: "someone@example.test" });
        const anon = new ApiClient(`${server.httpUrl}/api`);
        const register = (email: string) => anon.post("/auth/register", { email, password: "a long password", name: "N" });
        await register("warm-up@example.test");
        const fresh: number[] = [];
        const taken: number[] = [];
        for (let i = 0; i < 5; i++) {
          fresh.push((await timed(() => register(`fresh-${i}@example.test`))).ms);
          taken.push((await timed(() => register("someone@example.test"))).ms);
        }
        const ratio = median(taken) / median(fresh);
        expect(ratio, `taken ${taken.map(Math.round)} ms, fresh ${fresh.map(Math.round)} ms`).to.be.within(0.5, 2);
      } finally {
        await server.close();
        await mailbox.close();
      }
    });

    it("register and forgot-password answer before the writes and mail that only one kind of address causes", async () => {
      // A mail server that takes 2 s per message and account tables locked for 2 s stand in for any
      // slow step: an answer that waited for one would say which kind of address it was given.
      const HOLD_MS = 2000;
      const mailbox = await startMailbox({ delayMs: HOLD_MS });
      const server = await startServer({ SMTP_URL: mailbox.smtpUrl, ...FAST });
      const lock = new pg.Client({ connectionString: testDatabaseUrl() });
      try {
        await truncateAll();
        await signUp(server.httpUrl, mailbox, { email: "known@example.test" });
        const anon = new ApiClient(`${server.httpUrl}/api`);
        await lock.connect();
        await lock.query("BEGIN");
        await lock.query("LOCK TABLE users, email_tokens IN EXCLUSIVE MODE");
        const released = new Promise((resolve) => setTimeout(resolve, HOLD_MS)).then(() => lock.query("COMMIT"));
        const answers = {
          "forgot (known)": await timed(() => anon.post("/auth/forgot-password", { email: "known@example.test" })),
          "forgot (unknown)": await timed(() => anon.post("/auth/forgot-password", { email: "unknown@example.test" })),
          "register (fresh)": await timed(() => anon.post("/auth/register", { email: "new@example.test", password: "a long password", name: "N" })),
          "register (taken)": await timed(() => anon.post("/auth/register", { email: "known@example.test", password: "a long password", name: "N" })),
        };
        await released;
        for (const [what, { result, ms }] of Object.entries(answers)) {
          expect(result.status, what).to.be.within(200, 299);
          expect(ms, what).to.be.below(HOLD_MS / 2);
        }
        // The work still happens once the tables are free.
        await mailbox.waitForMail("known@example.test", /reset/i, 10_000);
        await mailbox.waitForMail("new@example.test", /verify/i, 10_000);
        await mailbox.waitForMail("known@example.test", /already/i, 10_000);
        expect(mailbox.mailsTo("unknown@example.test")).to.deep.equal([]);
      } finally {
        await lock.end();
        await server.close();
        await mailbox.close();
      }
    });
  });
});
