/**
 * The README's promise: `npm start` needs no configuration. The server is started the way
 * `npm start` starts it, in an empty directory, with no variables but PATH and a free port: it
 * creates its SQLite database and development secret under ./data, answers GET /health with 200,
 * serves the dashboard at / (built by the script's first step when missing or out of date), and
 * exits 0 on SIGTERM.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "../../helpers/server.ts";
import { ensureDashboardBuilt } from "../../../scripts/build-dashboard.ts";

describe("npm start with no configuration", function () {
  this.timeout(60_000);

  it("serves GET /health = 200 on an embedded SQLite database, the dashboard at /, and exits 0 on SIGTERM", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "syncforge-start-"));
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).to.equal("node scripts/build-dashboard.ts && node server/main.ts");
    // The script's first step (a no-op when the build is fresh).
    await ensureDashboardBuilt();
    const child = spawn(process.execPath, [path.join(ROOT, "server/main.ts")], {
      cwd,
      env: { PATH: process.env.PATH, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 20_000);
        const check = () => {
          const match = /SyncForge is listening.*?"port":(\d+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        };
        child.stdout.on("data", check);
        child.stderr.on("data", check);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before listening:\n${out}`));
        });
      });
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.include({ status: "ok", database: "up" });
      const dashboard = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: "text/html" } });
      expect(dashboard.status).to.equal(200);
      expect(await dashboard.text()).to.contain('<div id="root">');
      expect(existsSync(path.join(cwd, "data/syncforge.sqlite")), "SQLite database under ./data").to.equal(true);
      expect(existsSync(path.join(cwd, "data/dev-secret")), "development secret under ./data").to.equal(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGTERM");
    }
    expect(await exited).to.equal(0);
  });
});
