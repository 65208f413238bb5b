/**
 * docs/openapi.yaml stays true: every documented route exists in the Express app, every /api route
 * is documented, and every $ref in the document resolves.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { startServer, ROOT, type TestServer } from "../../helpers/server.ts";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string | string[];
}

/** "METHOD /path/{param}" for every route in an Express 5 router stack. */
export function listRoutes(stack: Layer[], prefix = ""): string[] {
  const routes: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== "_all") routes.push(`${method.toUpperCase()} ${toOpenApiPath(prefix + p)}`);
        }
      }
    } else if (layer.handle?.stack) {
      const mount = typeof layer.rawPath === "string" && layer.rawPath !== "/" ? layer.rawPath : "";
      routes.push(...listRoutes(layer.handle.stack, prefix + mount));
    }
  }
  return routes;
}

function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  const routes: string[] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method]) routes.push(`${method.toUpperCase()} ${p}`);
  }
  return routes;
}

function collectRefs(node: unknown, refs: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, refs);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") refs.push(value);
      else collectRefs(value, refs);
    }
  }
  return refs;
}

describe("docs/openapi.yaml", () => {
  let server: TestServer;
  let doc: any;

  before(async () => {
    server = await startServer();
    doc = parse(readFileSync(path.join(ROOT, "docs/openapi.yaml"), "utf8"));
  });
  after(() => server.close());

  function appRoutes(): string[] {
    const router = (server.app.express as unknown as { router: { stack: Layer[] } }).router;
    return listRoutes(router.stack);
  }

  it("is an OpenAPI 3.1 document", () => {
    expect(doc.openapi).to.match(/^3\.1\./);
    expect(doc.info.title).to.be.a("string");
    expect(Object.keys(doc.paths).length).to.be.greaterThan(20);
  });

  it("documents only routes that exist", () => {
    const existing = new Set(appRoutes());
    const missing = documentedRoutes(doc).filter((r) => !existing.has(r));
    expect(missing, `documented but not served:\n${missing.join("\n")}`).to.deep.equal([]);
  });

  it("documents every /api route", () => {
    const documented = new Set(documentedRoutes(doc));
    const undocumented = appRoutes().filter((r) => r.split(" ")[1]!.startsWith("/api/") && !documented.has(r));
    expect(undocumented, `served but not documented in docs/openapi.yaml:\n${undocumented.join("\n")}`).to.deep.equal([]);
  });

  it("gives every operation a summary and responses, and every $ref resolves", () => {
    for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        expect(op.summary, `${method} ${p}`).to.be.a("string");
        expect(Object.keys(op.responses ?? {}), `${method} ${p}`).to.not.be.empty;
      }
    }
    for (const ref of collectRefs(doc)) {
      expect(ref, ref).to.match(/^#\//);
      let node: any = doc;
      for (const part of ref.slice(2).split("/")) node = node?.[part];
      expect(node, `unresolved ${ref}`).to.not.equal(undefined);
    }
  });
});
