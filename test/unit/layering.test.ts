/**
 * The layering of STYLE.md, checked on our source tree: edges (server/http, extensions/) call
 * server/auth and server/domain, which never import an edge; nothing but the composition root
 * imports a Hocuspocus extension; routes never touch the database models; protocol/ is shared by
 * server and SDK and imports neither.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The composition root wires the extensions to everything else (STYLE.md: one composition root). */
const COMPOSITION_ROOT = new Set(["server/app.ts", "server/comments-area.ts", "server/webhooks-area.ts"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

/** Static imports and re-exports start a line (comments do not); dynamic imports are anywhere. */
const IMPORT = /^[ \t]*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

/** What a file imports: relative specifiers resolved to repository paths, packages as written. */
function importsOf(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = (match[1] ?? match[2])!;
    found.push(specifier.startsWith(".") ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : specifier);
  }
  return found;
}

/** Every `file → import` of files under `dir` where the import matches `forbidden`. */
function violations(dir: string, forbidden: (target: string) => boolean, except: Set<string> = new Set()): string[] {
  return sourceFiles(dir)
    .filter((file) => !except.has(file))
    .flatMap((file) => importsOf(file, readFileSync(path.join(ROOT, file), "utf8")).filter(forbidden).map((target) => `${file} → ${target}`));
}

const under = (...dirs: string[]) => (target: string) => dirs.some((dir) => target === dir || target.startsWith(`${dir}/`));

describe("layering of the source tree", () => {
  it("reads static, type-only, re-export and dynamic imports", () => {
    const text = [
      `import { a } from "./a.ts";`,
      `import type {\n  B,\n  C,\n} from "../../extensions/b.ts";`,
      `export { d } from "../d.ts";`,
      `import "side-effect";`,
      `const e = await import("../../db/models/index.ts");`,
      `// a comment that says import nothing from "here"`,
      ` * import { f } from "../f.ts" in a JSDoc example`,
    ].join("\n");
    expect(importsOf("server/http/x.ts", text)).to.deep.equal(["server/http/a.ts", "extensions/b.ts", "server/d.ts", "side-effect", "db/models/index.ts"]);
  });

  it("nothing under server/ imports an extension, but the composition root", () => {
    expect(violations("server", under("extensions"), COMPOSITION_ROOT)).to.deep.equal([]);
  });

  it("nothing under server/http imports the database (db/models or db/)", () => {
    expect(violations("server/http", under("db"))).to.deep.equal([]);
  });

  it("server/auth imports no edge: not server/http, server/realtime nor extensions/", () => {
    expect(violations("server/auth", under("server/http", "server/realtime", "extensions"))).to.deep.equal([]);
  });

  it("server/domain imports no edge and neither Express nor Hocuspocus", () => {
    const edge = under("server/http", "server/realtime", "extensions");
    const framework = (target: string) => target === "express" || target.startsWith("@hocuspocus/");
    expect(violations("server/domain", (target) => edge(target) || framework(target))).to.deep.equal([]);
  });

  it("server/domain does not import server/auth: auth turns credentials into actors and calls the domain", () => {
    expect(violations("server/domain", under("server/auth"))).to.deep.equal([]);
  });

  it("protocol/ imports nothing of ours: it is the wire format the server and the SDK share", () => {
    expect(violations("protocol", (target) => !target.startsWith("protocol/") && /^(server|client|extensions|db)\//.test(target))).to.deep.equal([]);
  });

  it("the server never imports the SDK, and the SDK never imports the server", () => {
    expect(violations("server", under("client"))).to.deep.equal([]);
    expect(violations("extensions", under("client"))).to.deep.equal([]);
    expect(violations("client", under("server", "extensions", "db"))).to.deep.equal([]);
  });
});
