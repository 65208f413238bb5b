/**
 * Bad input on every endpoint of the accounts area: missing fields, wrong types, huge bodies,
 * invalid JSON, a non-JSON content type and unknown ids each get a 4xx with a stable code, never
 * a 500. The auth endpoints are rate limited per IP. On PostgreSQL and SQLite alike, every id path
 * parameter of the API, body ids, query values and cursors holding a NUL or another control
 * character, and JSON nested deeper than the limit, are refused with a 4xx.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { ROOT, startServer, type TestServer } from "../../helpers/server.ts";
import { tempSqliteUrl, truncateAll } from "../../helpers/database.ts";
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
      ["PATCH", org, { name: "" }],
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

/** `{"a":{"a":…1…}}` or `[[…]]`, `depth` levels deep, as raw JSON text. */
function nested(depth: number, kind: "object" | "array"): string {
  return kind === "object" ? '{"a":'.repeat(depth) + "1" + "}".repeat(depth) : "[".repeat(depth) + "]".repeat(depth);
}

/** Bodies that let each route reach its storage when only the path is wrong. */
const VALID_BODIES: Record<string, unknown> = {
  "PATCH /api/organizations/{org_id}": { name: "Renamed" },
  "POST /api/organizations/{org_id}/members": { email: "nobody@example.test", role: "viewer" },
  "PATCH /api/organizations/{org_id}/members/{user_id}": { role: "viewer" },
  "POST /api/organizations/{org_id}/api-keys": { name: "k" },
  "POST /api/organizations/{org_id}/access-tokens": { userId: "u", permissions: { existing: ["room:read"] } },
  "POST /api/organizations/{org_id}/rooms": { name: "r" },
  "PATCH /api/organizations/{org_id}/rooms/{room_id}": { name: "r" },
  "POST /api/organizations/{org_id}/rooms/{room_id}/threads": { body: "x" },
  "POST /api/organizations/{org_id}/rooms/{room_id}/threads/{thread_id}/comments": { body: "x" },
  "POST /api/organizations/{org_id}/rooms/{room_id}/threads/{thread_id}/comments/{comment_id}": { body: "x" },
  "POST /api/organizations/{org_id}/rooms/{room_id}/threads/{thread_id}/comments/{comment_id}/add-reaction": { emoji: "👍" },
  "POST /api/organizations/{org_id}/rooms/{room_id}/threads/{thread_id}/comments/{comment_id}/remove-reaction": { emoji: "👍" },
  "POST /api/organizations/{org_id}/users/{user_id}/notification-settings": { email: "x@example.test" },
  "POST /api/organizations/{org_id}/inbox-notifications/trigger": { userId: "u", kind: "$x" },
};

for (const database of ["postgres", "sqlite"] as const) {
  describe(`control characters and deep JSON (${database})`, function () {
    this.timeout(60_000);
    let mailbox: Mailbox;
    let server: TestServer;
    let team: Team;
    let valid: Record<string, string>;
    const org = () => `/organizations/${team.orgId}`;

    before(async () => {
      mailbox = await startMailbox();
      const env = { SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" };
      if (database === "sqlite") server = await startServer({ ...env, DATABASE_URL: tempSqliteUrl() });
      else {
        server = await startServer(env);
        await truncateAll();
      }
      team = await createTeam(server.httpUrl, mailbox);
      const owner = team.owner.client;
      expect((await owner.post(`${org()}/rooms`, { id: "existing" })).status).to.equal(201);
      const thread = await owner.post(`${org()}/rooms/existing/threads`, { body: "hello" });
      const notified = await team.apiKey.client.post(`${org()}/inbox-notifications/trigger`, { userId: team.owner.user.id, kind: "$x" });
      valid = {
        org_id: team.orgId,
        room_id: "existing",
        user_id: team.owner.user.id,
        id: team.apiKey.id,
        thread_id: thread.body.id,
        comment_id: thread.body.comments[0].id,
        notification_id: notified.body.notification.id,
      };
    });
    after(async () => {
      await server.close();
      await mailbox.close();
    });

    function expectRefused(r: { status: number; body: any }, what: string, status?: number, code?: string): void {
      expect(r.status, `${what}: ${r.status} ${JSON.stringify(r.body)}`).to.be.within(400, 499);
      if (status) expect(r.status, what).to.equal(status);
      expect(r.body?.error?.code, what).to.be.a("string");
      if (code) expect(r.body.error.code, what).to.equal(code);
    }

    it("a control character in any id path parameter → 4xx (every documented route)", async () => {
      const doc = parse(readFileSync(path.join(ROOT, "docs/openapi.yaml"), "utf8")) as { paths: Record<string, Record<string, unknown>> };
      let checked = 0;
      for (const [template, item] of Object.entries(doc.paths)) {
        const params = [...template.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
        for (const method of ["get", "post", "patch", "delete"].filter((m) => item[m])) {
          const key = `${method.toUpperCase()} ${template}`;
          for (const bad of params) {
            for (const value of ["a%00b", "%00", "a%1Fb", "%7F", "%C0%80"]) {
              const url = template.replace(/^\/api/, "").replace(/\{([a-z_]+)\}/g, (_m, name: string) => (name === bad ? value : encodeURIComponent(valid[name]!)));
              const body = method === "get" || method === "delete" ? undefined : (VALID_BODIES[key] ?? {});
              expectRefused(await team.owner.client.request(method.toUpperCase(), url, body), `${key} ${bad}=${value}`);
              checked++;
            }
          }
        }
      }
      expect(checked).to.be.greaterThan(100);
      expect((await fetch(`${server.httpUrl}/health`)).status).to.equal(200);
    });

    it("a NUL or control character in body ids, strings, query values and cursors → 400", async () => {
      const api = team.apiKey.client;
      const owner = team.owner.client;
      const room = `${org()}/rooms/existing`;
      const threadId = valid.thread_id!;
      const commentId = valid.comment_id!;
      const cases: Array<[ApiClient, string, string, unknown?]> = [
        [api, "POST", `${org()}/inbox-notifications/trigger`, { userId: "a\u0000b", kind: "$x" }],
        [api, "POST", `${org()}/inbox-notifications/trigger`, { userId: "a\u0001b", kind: "$x" }],
        [api, "POST", `${org()}/inbox-notifications/trigger`, { userId: "u", kind: "$x", roomId: "a\u0000b" }],
        [api, "POST", `${org()}/inbox-notifications/trigger`, { userId: "u", kind: "$x", roomId: "a\u001fb" }],
        [api, "POST", `${org()}/inbox-notifications/trigger`, { userId: "u", kind: "$x", data: { note: "b\u0000" } }],
        [api, "POST", `${org()}/inbox-notifications/trigger`, { userId: "u", kind: "$x", data: { "k\u0000": 1 } }],
        [api, "POST", `${room}/threads`, { userId: "a\u0000b", body: "hi" }],
        [api, "POST", `${room}/threads`, { userId: "a\u007fb", body: "hi" }],
        [api, "POST", `${room}/threads`, { userId: "u", body: "hi @x\u0000y" }],
        [api, "POST", `${room}/threads`, { userId: "u", body: "hi", metadata: { a: "\u0000" } }],
        [api, "POST", `${room}/threads`, { userId: "u", body: "hi", id: "th\u0000" }],
        [api, "POST", `${room}/threads/${threadId}/comments`, { userId: "u", body: "hi", parentId: "cm\u0000" }],
        [api, "POST", `${room}/threads/${threadId}/comments/${commentId}`, { userId: "u", body: "hi", mentions: ["a\u0000b"] }],
        [api, "POST", `${room}/threads/${threadId}/comments/${commentId}/add-reaction`, { userId: "u", emoji: "\u0000" }],
        [owner, "POST", `${org()}/rooms`, { id: "a\u0000b" }],
        [owner, "POST", `${org()}/rooms`, { name: "a\u0000b" }],
        [owner, "POST", `${org()}/rooms`, { metadata: { a: "\u0000" } }],
        [owner, "POST", `${org()}/access-tokens`, { userId: "a\u0000b", permissions: { existing: ["room:read"] } }],
        [owner, "POST", `${org()}/access-tokens`, { userId: "a\u0002b", permissions: { existing: ["room:read"] } }],
        [owner, "POST", `${org()}/access-tokens`, { userId: "u", userInfo: { name: "\u0000" }, permissions: { existing: ["room:read"] } }],
        [owner, "POST", "/organizations", { name: "a\u0000b" }],
        [owner, "PATCH", org(), { name: "a\u0000b" }],
        [owner, "POST", `${org()}/api-keys`, { name: "a\u0000b" }],
        [owner, "POST", `${org()}/users/${team.owner.user.id}/notification-settings`, { email: "a\u0000@example.test" }],
        [owner, "GET", `${room}/threads?author=a%00b`],
        [owner, "GET", `${room}/threads?author=a%01b`],
        [owner, "DELETE", `${room}/threads/${threadId}/comments/${commentId}?userId=a%00b`],
        [owner, "GET", `${org()}/rooms?cursor=%00`],
        [owner, "GET", `${org()}/rooms?cursor=${Buffer.from("a\u0000b").toString("base64url")}`],
        [owner, "GET", `${org()}/rooms?cursor=${Buffer.from("a\u0001b").toString("base64url")}`],
        [owner, "GET", `${room}/activity?cursor=${Buffer.from(JSON.stringify([new Date().toISOString(), "a\u0000b"])).toString("base64url")}`],
        [owner, "GET", `${org()}/users/${team.owner.user.id}/inbox-notifications?cursor=${Buffer.from(JSON.stringify([new Date().toISOString(), "in\u0000"])).toString("base64url")}`],
      ];
      for (const [client, method, url, body] of cases) {
        expectRefused(await client.request(method, url, body), `${method} ${url} ${JSON.stringify(body)}`, 400);
      }
      // The login form is not an id, but a NUL there must not reach the database either.
      expectRefused(await new ApiClient(`${server.httpUrl}/api`).post("/auth/login", { email: "a\u0000@example.test", password: "whatever" }), "login", 400);
      // Ordinary control characters in free text (newlines, tabs) are fine.
      expect((await api.post(`${room}/threads`, { userId: "u", body: "line one\nline\ttwo" })).status).to.equal(201);
    });

    it("JSON nested deeper than the limit anywhere in a body → 400 json_too_deep", async () => {
      const api = team.apiKey.client;
      const owner = team.owner.client;
      const room = `${org()}/rooms/existing`;
      for (const [depth, kind] of [[40, "object"], [5_000, "object"], [300_000, "array"]] as const) {
        const deep = nested(depth, kind);
        const cases: Array<[ApiClient, string, string, string]> = [
          [owner, "POST", `${org()}/rooms`, `{"metadata":{"a":${deep}}}`],
          [owner, "PATCH", `${room}`, `{"metadata":{"a":${deep}}}`],
          [api, "POST", `${org()}/inbox-notifications/trigger`, `{"userId":"u","kind":"$x","data":{"a":${deep}}}`],
          [api, "POST", `${room}/threads`, `{"userId":"u","body":"x","anchor":{"text":{"field":"f","start":{"a":${deep}},"end":{}}}}`],
          [owner, "POST", `${org()}/access-tokens`, `{"userId":"u","userInfo":{"x":${deep}},"permissions":{"existing":["room:read"]}}`],
          [owner, "POST", "/organizations", deep],
          [owner, "POST", "/auth/login", `{"email":${deep}}`],
        ];
        for (const [client, method, url, body] of cases) {
          expectRefused(await client.request(method, url, body), `${method} ${url} depth ${depth}`, 400, "json_too_deep");
        }
      }
      // Nesting within the limit is ordinary JSON.
      const fine = await owner.post(`${org()}/rooms`, { id: "nested-ok", metadata: { a: JSON.parse(nested(10, "object")) } });
      expect(fine.status, JSON.stringify(fine.body)).to.equal(201);
      const notified = await api.post(`${org()}/inbox-notifications/trigger`, { userId: "u", kind: "$x", data: { a: JSON.parse(nested(10, "array")) } });
      expect(notified.status).to.equal(201);
      expect((await fetch(`${server.httpUrl}/health`)).status).to.equal(200);
    });
  });
}
