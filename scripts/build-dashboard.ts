/**
 * Builds the dashboard (client/dashboard → client/dashboard/dist) when it is missing or out of
 * date, so `npm install && npm start` serves it with no third command: `prepare` runs this at
 * install, `start` before the server, and the Procfile's release step on deploy. "Out of date"
 * is a hash of the dashboard's sources and the lockfile, stored next to the build.
 *
 * Without Vite (a production install that skipped dev dependencies) an existing build is kept
 * and a missing one is reported; the server then answers `/` with 503 and says how to build it.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DASHBOARD_ROOT = path.join(ROOT, "client/dashboard");
export const DASHBOARD_DIST = path.join(DASHBOARD_ROOT, "dist");
const STAMP = path.join(DASHBOARD_DIST, ".source-hash");

/** A hash of everything the build reads: the dashboard's sources and the installed versions. */
export function dashboardSourceHash(): string {
  const hash = createHash("sha256");
  const files = readdirSync(DASHBOARD_ROOT, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !file.startsWith(DASHBOARD_DIST + path.sep))
    .sort();
  for (const file of [...files, path.join(ROOT, "package-lock.json")]) {
    hash.update(path.relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

export function isDashboardFresh(): boolean {
  return existsSync(path.join(DASHBOARD_DIST, "index.html")) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === dashboardSourceHash();
}

/** Build unless the build is fresh; resolves what happened. */
export async function ensureDashboardBuilt(options: { force?: boolean } = {}): Promise<"fresh" | "built" | "no-vite"> {
  if (!options.force && isDashboardFresh()) return "fresh";
  let vite: typeof import("vite");
  try {
    vite = await import("vite");
  } catch {
    return "no-vite";
  }
  const sourceHash = dashboardSourceHash();
  await vite.build({ configFile: path.join(DASHBOARD_ROOT, "vite.config.ts"), logLevel: "warn" });
  writeFileSync(STAMP, sourceHash);
  return "built";
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = await ensureDashboardBuilt({ force: process.argv.includes("--force") });
  if (result === "built") console.log("Dashboard built into client/dashboard/dist");
  if (result === "no-vite") {
    const kept = existsSync(path.join(DASHBOARD_DIST, "index.html"));
    console.warn(
      kept
        ? "Vite is not installed (dev dependencies skipped): keeping the existing dashboard build"
        : "Vite is not installed (dev dependencies skipped) and the dashboard is not built: install dev dependencies and run `npm run build:dashboard`",
    );
  }
}
