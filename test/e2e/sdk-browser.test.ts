/**
 * The SDK in Debian's Chromium (playwright-core): a Vite-built page using the React hooks joins a
 * room on the real server with a Node client; each sees the other's presence and cursor.
 */
import { expect } from "chai";
import type http from "node:http";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Browser } from "playwright-core";
import { ROOT, startServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/clients.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../helpers/sdk.ts";
import { launchChromium, servePage, type PageSite } from "../helpers/browser.ts";
import { createClient, type Client } from "../../client/core/index.ts";

describe("the SDK in a browser (Chromium)", function () {
  this.timeout(120_000);
  let server: TestServer;
  let backend: AuthBackend;
  let site: PageSite;
  let pageUrl: string;
  let browser: Browser;
  const clients: Client[] = [];

  before(async function () {
    server = await startServer();
    backend = await startAuthBackend({ users: { ann: { name: "Ann", color: "#123456" }, bot: { name: "Bot", color: "#654321" } } });
    // The page's origin: static files, and /auth proxied to the token backend (the app's backend).
    site = await servePage(path.join(ROOT, "test/e2e/sdk-page"), async (url, req, res) => {
      if (url.pathname !== "/auth") return false;
      const upstream = await fetch(backend.url(url.searchParams.get("user") ?? ""), { method: "POST", body: await readBody(req) });
      res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
      return true;
    });
    pageUrl = site.url;
    browser = await launchChromium();
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await backend?.close();
    await server?.close();
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
