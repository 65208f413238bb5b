/**
 * CORS for /api from ALLOWED_ORIGINS only: a listed origin gets its own origin back with
 * credentials (preflights answered 204), any other origin and any other path gets no CORS header at
 * all, and with no list (the default) nothing is ever allowed cross-origin.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";

const APP = "https://app.example.test";
const ADMIN = "https://admin.example.test:8443";

function preflight(server: TestServer, path: string, origin: string, method = "POST"): Promise<Response> {
  return fetch(`${server.httpUrl}${path}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": "content-type,authorization" },
  });
}

function corsHeaders(response: Response): string[] {
  return [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
}

describe("CORS for /api", () => {
  before(() => truncateAll());

  describe("with ALLOWED_ORIGINS", () => {
    let server: TestServer;
    before(async () => {
      server = await startServer({ ALLOWED_ORIGINS: `${APP}, ${ADMIN}` });
    });
    after(() => server.close());

    it("answers a listed origin's preflight with that origin and credentials", async () => {
      for (const origin of [APP, ADMIN]) {
        for (const method of ["POST", "PATCH", "DELETE"]) {
          const r = await preflight(server, "/api/organizations", origin, method);
          expect(r.status, `${origin} ${method}`).to.equal(204);
          expect(r.headers.get("access-control-allow-origin")).to.equal(origin);
          expect(r.headers.get("access-control-allow-credentials")).to.equal("true");
          expect(r.headers.get("access-control-allow-methods")?.split(",")).to.include(method);
          expect(r.headers.get("access-control-allow-headers")?.toLowerCase().split(",")).to.include.members(["content-type", "authorization"]);
          expect(r.headers.get("vary")).to.match(/origin/i);
        }
      }
    });

    it("lets a listed origin read answers, errors included", async () => {
      const r = await fetch(`${server.httpUrl}/api/me`, { headers: { origin: APP } });
      expect(r.status).to.equal(401);
      expect(r.headers.get("access-control-allow-origin")).to.equal(APP);
      expect(r.headers.get("access-control-allow-credentials")).to.equal("true");
      expect(r.headers.get("access-control-expose-headers")?.toLowerCase()).to.include("retry-after");
    });

    it("sends nothing to an origin that is not listed, however close", async () => {
      for (const origin of ["https://evil.test", "null", "http://app.example.test", "https://app.example.test.evil.test", "https://admin.example.test", `${APP}/`]) {
        const pre = await preflight(server, "/api/organizations", origin);
        expect(corsHeaders(pre), origin).to.deep.equal([]);
        const get = await fetch(`${server.httpUrl}/api/me`, { headers: { origin } });
        expect(corsHeaders(get), origin).to.deep.equal([]);
        expect(get.headers.get("vary"), origin).to.match(/origin/i);
      }
    });

    it("adds nothing outside /api", async () => {
      const health = await fetch(`${server.httpUrl}/health`, { headers: { origin: APP } });
      expect(corsHeaders(health)).to.deep.equal([]);
      expect(corsHeaders(await preflight(server, "/health", APP, "GET"))).to.deep.equal([]);
    });
  });

  describe("by default (no ALLOWED_ORIGINS)", () => {
    let server: TestServer;
    before(async () => {
      server = await startServer();
    });
    after(() => server.close());

    it("allows no origin", async () => {
      const pre = await preflight(server, "/api/organizations", APP);
      expect(corsHeaders(pre)).to.deep.equal([]);
      expect(corsHeaders(await fetch(`${server.httpUrl}/api/me`, { headers: { origin: APP } }))).to.deep.equal([]);
    });
  });
});
