/**
 * Bad input on every endpoint of the accounts area: missing fields, wrong types, huge bodies,
 * invalid JSON, a non-JSON content type and unknown ids each get a 4xx with a stable code, never
 * a 500. The auth endpoints are rate limited per IP.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { ApiClient, createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";

interface Route {
  method: string;
  path: (t: Team) => string;
  /** Whether {} is a valid body (endpoints without required fields). */
  emptyOk?: boolean;
  as?: "owner" | "apiKey";
}

const ROUTES: Route[] = [
  { method: "POST", path: () => "/auth/register" },
  { method: "POST", path: () => "/auth/login" },
  { method: "POST", path: () => "/auth/verify-email" },
  { method: "POST", path: () => "/auth/forgot-password" },
  { method: "POST", path: () => "/auth/resend-verification" },
  { method: "POST", path: () => "/auth/reset-password" },
  { method: "POST", path: () => "/organizations" },
  { method: "PATCH", path: (t) => `/organizations/${t.orgId}`, emptyOk: true },
  { method: "POST", path: (t) => `/organizations/${t.orgId}/members` },
  { method: "PATCH", path: (t) => `/organizations/${t.orgId}/members/${t.viewer.user.id}` },
  { method: "POST", path: () => "/invitations/preview" },
  { method: "POST", path: () => "/invitations/accept" },
  { method: "POST", path: () => "/invitations/register" },
  { method: "POST", path: (t) => `/organizations/${t.orgId}/api-keys` },
  { method: "POST", path: (t) => `/organizations/${t.orgId}/access-tokens` },
  { method: "POST", path: (t) => `/organizations/${t.orgId}/rooms`, emptyOk: true },
  { method: "PATCH", path: (t) => `/organizations/${t.orgId}/rooms/existing`, emptyOk: true },
];

const WRONG_TYPES = {
  email: 42,
  password: ["x"],
  name: { nested: true },
  token: 7,
  role: "emperor",
  plan_type: 3,
  max_rooms: "lots",
  max_monthly_connections: -1,
  userId: 12,
  userInfo: "me",
  permissions: { "a/b": ["room:fly"] },
  id: "bad\u0000id",
  metadata: "not an object",
  maxParticipants: 1.5,
  defaultAccess: ["everything"],
};

describe("bad input", function () {
  this.timeout(60_000);
  let mailbox: Mailbox;
  let server: TestServer;
  let team: Team;

  before(async () => {
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
    await truncateAll();
    team = await createTeam(server.httpUrl, mailbox);
    await team.owner.client.post(`/organizations/${team.orgId}/rooms`, { id: "existing" });
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  function clientFor(route: Route): ApiClient {
    return route.as === "apiKey" ? team.apiKey.client : team.owner.client;
  }

  function expectClientError(r: { status: number; body: any }, what: string, status?: number, code?: string): void {
    expect(r.status, `${what}: ${JSON.stringify(r.body)}`).to.be.within(400, 499);
    if (status) expect(r.status, what).to.equal(status);
    expect(r.body?.error?.code, what).to.be.a("string");
    expect(r.body.error.message, what).to.be.a("string");
    if (code) expect(r.body.error.code, what).to.equal(code);
  }

  it("missing fields and wrong types → 400 validation_failed with details", async () => {
    for (const route of ROUTES) {
      const client = clientFor(route);
      const what = `${route.method} ${route.path(team)}`;
      if (!route.emptyOk) {
        const r = await client.request(route.method, route.path(team), {});
        expectClientError(r, `${what} {}`, 400, "validation_failed");
        expect(r.body.error.details, what).to.be.an("array").that.is.not.empty;
      }
      const wrong = await client.request(route.method, route.path(team), WRONG_TYPES);
      expectClientError(wrong, `${what} wrong types`, 400, "validation_failed");
      for (const body of ["[]", "null", '"string"', "42"]) {
        expectClientError(await client.request(route.method, route.path(team), body), `${what} ${body}`, 400);
      }
    }
  });

  it("huge bodies → 413, invalid JSON → 400 invalid_json, non-JSON content types → 415", async () => {
    const huge = JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) });
    for (const route of ROUTES) {
      const client = clientFor(route);
      const what = `${route.method} ${route.path(team)}`;
      expectClientError(await client.request(route.method, route.path(team), huge), `${what} huge`, 413, "payload_too_large");
      expectClientError(await client.request(route.method, route.path(team), "{not json"), `${what} invalid`, 400, "invalid_json");
      const form = await client.request(route.method, route.path(team), "name=x", { "content-type": "application/x-www-form-urlencoded" });
      expectClientError(form, `${what} form`, 415, "unsupported_media_type");
      const text = await client.request(route.method, route.path(team), "{}", { "content-type": "text/plain" });
      expectClientError(text, `${what} text/plain`, 415, "unsupported_media_type");
    }
    // A body-less POST without a content type (a no-cors fetch) is refused too.
    const logout = await fetch(`${server.httpUrl}/api/auth/logout`, { method: "POST" });
    expect(logout.status).to.equal(415);
  });

  it("oversized values and limits → 400", async () => {
    const owner = team.owner.client;
    const org = `/organizations/${team.orgId}`;
    const cases: Array<[string, string, unknown]> = [
      ["POST", "/auth/register", { email: "a@example.test", password: "short", name: "A" }],
      ["POST", "/auth/register", { email: "a@example.test", password: "p".repeat(73), name: "A" }],
      ["POST", "/auth/register", { email: "not-an-email", password: "long enough", name: "A" }],
      ["POST", "/auth/register", { email: "a@example.test", password: "long enough", name: "n".repeat(129) }],
      ["POST", `${org}/rooms`, { id: "x".repeat(129) }],
      ["POST", `${org}/rooms`, { id: "has/slash" }],
      ["POST", `${org}/rooms`, { id: "star*" }],
      ["POST", `${org}/rooms`, { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }],
      ["POST", `${org}/rooms`, { metadata: { ["k".repeat(41)]: 1 } }],
      ["POST", `${org}/rooms`, { maxParticipants: 0 }],
      ["POST", `${org}/rooms`, { unknownField: true }],
      ["POST", `${org}/access-tokens`, { userId: "u".repeat(129), permissions: { "*": ["room:write"] } }],
      ["POST", `${org}/access-tokens`, { userId: "u", permissions: {} }],
      ["POST", `${org}/access-tokens`, { userId: "u", permissions: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`r${i}`, ["room:read"]])) }],
      ["POST", `${org}/access-tokens`, { userId: "u", permissions: { "a*b": ["room:read"] } }],
      ["POST", `${org}/access-tokens`, { userId: "u", permissions: { r: [] } }],
      ["POST", `${org}/access-tokens`, { userId: "u", userInfo: { name: "n", bio: "b".repeat(1100) }, permissions: { r: ["room:read"] } }],
      ["PATCH", org, { max_rooms: -1 }],
      ["PATCH", org, { surprise: 1 }],
      ["GET", `${org}/rooms?limit=abc`, undefined],
      ["GET", `${org}/rooms?limit=1000`, undefined],
    ];
    for (const [method, path, body] of cases) {
      expectClientError(await owner.request(method, path, body), `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`, 400);
    }
    // A garbage cursor is just a position: an empty or partial page, never an error.
    expect((await owner.get(`${org}/rooms?cursor=%%%`)).status).to.be.oneOf([200, 400]);
    expect((await owner.get(`${org}/rooms?cursor=zzzz`)).status).to.equal(200);
  });

  it("unknown ids → 404 with a code; unauthenticated → 401", async () => {
    const owner = team.owner.client;
    const org = `/organizations/${team.orgId}`;
    const unknown: Array<[string, string, unknown?]> = [
      ["GET", `/organizations/${randomUUID()}`],
      ["GET", "/organizations/%00"],
      ["GET", `${org}/rooms/nope`],
      ["PATCH", `${org}/rooms/nope`, { name: "x" }],
      ["DELETE", `${org}/rooms/nope`],
      ["POST", `${org}/rooms/nope/token`, {}],
      ["PATCH", `${org}/members/${randomUUID()}`, { role: "viewer" }],
      ["DELETE", `${org}/members/not-an-id`],
      ["DELETE", `${org}/invitations/${randomUUID()}`],
      ["DELETE", `${org}/invitations/not-an-id`],
      ["GET", `${org}/api-keys/${randomUUID()}`],
      ["DELETE", `${org}/api-keys/not-an-id`],
      ["POST", `${org}/api-keys/${randomUUID()}/rotate`, {}],
      ["GET", "/no-such-route"],
    ];
    for (const [method, path, body] of unknown) {
      expectClientError(await owner.request(method, path, body), `${method} ${path}`, 404);
    }
    const anon = new ApiClient(`${server.httpUrl}/api`);
    for (const [method, path, body] of [["GET", "/me"], ["GET", "/organizations"], ["POST", "/organizations", { name: "x" }], ["GET", `${org}/rooms`]] as const) {
      expectClientError(await anon.request(method, path, body), `${method} ${path}`, 401, "unauthorized");
    }
    const bearer = await fetch(`${server.httpUrl}/api/organizations`, { headers: { authorization: "Basic abc" } });
    expect(bearer.status).to.equal(401);
  });

  it("wrong passwords and unknown emails get the same 401", async () => {
    const anon = new ApiClient(`${server.httpUrl}/api`);
    const wrong = await anon.post("/auth/login", { email: team.owner.user.email, password: "wrong password" });
    const nobody = await anon.post("/auth/login", { email: "nobody@example.test", password: "wrong password" });
    expect(wrong.status).to.equal(401);
    expect(nobody.status).to.equal(401);
    expect(wrong.body).to.deep.equal(nobody.body);
    // Register with a taken email answers like a fresh one (test/integration/accounts/auth-abuse.test.ts).
    const taken = await anon.post("/auth/register", { email: team.owner.user.email, password: "long enough", name: "Dup" });
    expect(taken.status).to.equal(202);
  });

  it("rate limits the auth endpoints per IP with 429 rate_limited", async () => {
    const limited = await startServer({ AUTH_RATE_LIMIT: "3", BCRYPT_ROUNDS: "4" });
    try {
      const anon = new ApiClient(`${limited.httpUrl}/api`);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await anon.post("/auth/login", { email: "x@example.test", password: "whatever" })).status);
      expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
      const last = await anon.post("/auth/forgot-password", { email: "x@example.test" });
      expectClientError(last, "forgot after limit", 429, "rate_limited");
      expect(Number(last.headers.get("retry-after"))).to.be.greaterThan(0);
    } finally {
      await limited.close();
    }
  });
});
