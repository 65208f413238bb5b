/**
 * `npm run build:packages`: the installable packages — @syncforge/client (client/core),
 * @syncforge/react (client/react) and @syncforge/react-ui (client/ui + styles.css) — built from
 * the same sources into packages/<name>/dist: one ES module each (Vite library mode) and type
 * declarations (tsc). Each package imports the one below it by name (@syncforge/react-ui →
 * @syncforge/react → @syncforge/client), never a copy, so an app has one Room class and one React
 * context. With `--pack`, `npm pack` then writes the tarballs to packages/dist (docs/sdk.md).
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "vite";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface PackageSpec {
  dir: string;
  entry: string;
  /** Sources of the packages below, imported by name. */
  siblings: Record<string, string>;
  css?: string;
}

const CORE = path.join(ROOT, "client/core/index.ts");
const REACT = path.join(ROOT, "client/react/index.ts");

export const PACKAGES: PackageSpec[] = [
  { dir: "client", entry: CORE, siblings: {} },
  { dir: "react", entry: REACT, siblings: { [CORE]: "@syncforge/client" } },
  { dir: "react-ui", entry: path.join(ROOT, "client/ui/index.ts"), siblings: { [CORE]: "@syncforge/client", [REACT]: "@syncforge/react" }, css: path.join(ROOT, "client/ui/styles.css") },
];

/** Third-party imports stay imports: the app installs them once (dependencies or peers). */
const THIRD_PARTY = /^(yjs|y-protocols|lib0|react|react-dom|@hocuspocus\/[^/]+)(\/|$)/;

function siblingsByName(siblings: Record<string, string>): Plugin {
  return {
    name: "syncforge-siblings",
    enforce: "pre",
    async resolveId(source, importer) {
      if (!importer || !source.startsWith(".")) return null;
      const name = siblings[path.resolve(path.dirname(importer), source)];
      return name ? { id: name, external: true } : null;
    },
  };
}

/** Declarations: emitted per package, then imports of a sibling's sources rewritten to its name. */
async function declarations(spec: PackageSpec, outDir: string): Promise<void> {
  const typesDir = path.join(outDir, "types");
  const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
  execFileSync(process.execPath, [
    tsc, spec.entry, "--declaration", "--emitDeclarationOnly", "--outDir", typesDir, "--rootDir", ROOT,
    "--target", "es2024", "--module", "nodenext", "--moduleResolution", "nodenext", "--strict", "--skipLibCheck",
    "--allowImportingTsExtensions", "--rewriteRelativeImportExtensions", "--jsx", "react-jsx", "--types", "node", "--lib", "es2024,dom,dom.iterable",
  ], { cwd: ROOT, stdio: "inherit" });
  for (const file of await walk(typesDir)) {
    let text = await readFile(file, "utf8");
    for (const [source, name] of Object.entries(spec.siblings)) {
      const emitted = path.join(typesDir, path.relative(ROOT, source)).replace(/\.ts$/, ".js");
      text = text.replace(/(from |import\()"(\.[^"]+)"/g, (whole, lead: string, spec2: string) => {
        const target = path.resolve(path.dirname(file), spec2).replace(/\.ts$/, ".js");
        return target === emitted ? `${lead}"${name}"` : whole;
      });
    }
    await writeFile(file, text);
  }
  const entryTypes = "./" + path.relative(outDir, path.join(typesDir, path.relative(ROOT, spec.entry))).replace(/\.ts$/, ".js");
  await writeFile(path.join(outDir, "index.d.ts"), `export * from "${entryTypes}";\n`);
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

/** Build every package; with `pack`, `npm pack` each into `packDir` (default packages/dist) and return the tarballs. */
export async function buildPackages(options: { pack?: boolean; packDir?: string } = {}): Promise<string[]> {
  const tarballs: string[] = [];
  const packDir = options.packDir ?? path.join(ROOT, "packages/dist");
  if (options.pack) await mkdir(packDir, { recursive: true });
  for (const spec of PACKAGES) {
    const pkgDir = path.join(ROOT, "packages", spec.dir);
    const outDir = path.join(pkgDir, "dist");
    await rm(outDir, { recursive: true, force: true });
    await build({
      configFile: false,
      logLevel: "warn",
      plugins: [siblingsByName(spec.siblings)],
      build: {
        outDir,
        emptyOutDir: false,
        sourcemap: true,
        minify: false,
        lib: { entry: spec.entry, formats: ["es"], fileName: () => "index.js" },
        rollupOptions: { external: (id) => THIRD_PARTY.test(id) || id.startsWith("@syncforge/") },
      },
    });
    await declarations(spec, outDir);
    if (spec.css) await copyFile(spec.css, path.join(outDir, "styles.css"));
    if (options.pack) {
      const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", packDir], { cwd: pkgDir, encoding: "utf8" }).trim().split("\n").pop()!;
      // npm pack names the file after the package (@syncforge/client → syncforge-client-0.1.0.tgz).
      tarballs.push(path.join(packDir, name));
    }
  }
  return tarballs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const tarballs = await buildPackages({ pack: process.argv.includes("--pack") });
  for (const t of tarballs) process.stdout.write(`${path.relative(ROOT, t)}\n`);
}
