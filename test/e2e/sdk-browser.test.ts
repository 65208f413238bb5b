/**
 * The SDK in Debian's Chromium (playwright-core): a Vite-built page using the React hooks joins a
 * room on the real server with a Node client; each sees the other's presence and cursor.
 */
import { expect } from "chai";
import http from "node:http";
import { readFile, rm, mkdtemp } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { build } from "vite";
import { chromium, type Browser } from "playwright-core";
import { ROOT, startServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/clients.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../helpers/sdk.ts";
import { createClient, type Client } from "../../client/core/index.ts";

const CHROMIUM = "/usr/bin/chromium";

describe("the SDK in a browser (Chromium)", function () {
  this.timeout(120_000);
  let server: TestServer;
  let backend: AuthBackend;
  let outDir: string;
  let page: http.Server;
  let pageUrl: string;
  let browser: Browser;
  const clients: Client[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    server = await startServer();
    backend = await startAuthBackend({ users: { ann: { name: "Ann", color: "#123456" }, bot: { name: "Bot", color: "#654321" } } });
    outDir = await mkdtemp(path.join(tmpdir(), "sf-sdk-page-"));
    await build({
      root: path.join(ROOT, "test/e2e/sdk-page"),
      logLevel: "error",
      configFile: false,
      build: { outDir, emptyOutDir: true, minify: false },
    });
    // The page's origin: static files, and /auth proxied to the token backend (the app's backend).
    page = http.createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (url.pathname === "/auth") {
        const upstream = await fetch(backend.url(url.searchParams.get("user") ?? ""), { method: "POST", body: await readBody(req) });
        res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
        return;
      }
      const file = path.join(outDir, url.pathname === "/" ? "index.html" : path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ""));
      try {
        const body = await readFile(file);
        res.writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : "text/html" }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve));
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
    await backend?.close();
    await server?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("renders presence and cursors (label, colour) from a Node client, and sends its own presence", async () => {
    const roomId = `browser-${randomUUID()}`;
    const tab = await browser.newPage();
    try {
      await tab.goto(`${pageUrl}?server=${encodeURIComponent(server.collabUrl)}&room=${roomId}&user=ann`);
      await tab.waitForFunction(() => document.getElementById("status")?.textContent === "connected", undefined, { timeout: 15_000 });

      const bot = createClient({ url: server.collabUrl, authEndpoint: backend.url("bot"), reconnect: FAST_RECONNECT, throttle: 16 });
      clients.push(bot);
      const room = bot.enterRoom(roomId, { initialPresence: { tool: "laser" } });
      await room.waitUntilSynced();
      await tab.waitForFunction(() => document.getElementById("others")?.textContent === "Bot:laser", undefined, { timeout: 10_000 });

      room.updateCursor({ x: 100, y: 50 });
      await tab.waitForFunction(() => document.querySelector(".cursor")?.getAttribute("data-x") === "100", undefined, { timeout: 10_000 });
      expect(await tab.textContent(".cursor")).to.equal("Bot");

      await tab.evaluate(() => (window as unknown as { room: { updatePresence(p: object): void } }).room.updatePresence({ tool: "brush" }));
      await waitFor(() => room.getOthers()[0]?.presence.tool === "brush", 10_000, "the browser's presence");
      expect(room.getOthers()[0]!.info.name).to.equal("Ann");
    } finally {
      await tab.close();
    }
  });
});

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => resolve(body));
  });
}
