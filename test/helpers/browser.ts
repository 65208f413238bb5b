/**
 * Browser tests: pages built by Vite (no dev server) and served from their own local origin, and
 * Chromium driven by playwright-core: the system's (Debian's /usr/bin/chromium) when installed,
 * otherwise the headless Chromium the @sparticuz/chromium dev dependency ships inside the package,
 * so `npm install && npm test` needs no system browser.
 */
import http from "node:http";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { build } from "vite";
import { chromium, type Browser } from "playwright-core";

export const SYSTEM_CHROMIUM = "/usr/bin/chromium";

/** Answers a request the static files do not (an app's backend); resolves true when it did. */
export type Route = (url: URL, req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;

export interface PageSite {
  /** The origin, ending in "/". */
  url: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html" };

/** Build the page in `root` (its index.html) and serve it on 127.0.0.1; `route` answers first. */
export async function servePage(root: string, route?: Route): Promise<PageSite> {
  const outDir = await mkdtemp(path.join(tmpdir(), "sf-page-"));
  await build({ root, logLevel: "error", configFile: false, build: { outDir, emptyOutDir: true, minify: false } });
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (route && (await route(url, req, res))) return;
    const file = path.join(outDir, url.pathname === "/" ? "index.html" : path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ""));
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * The Chromium to drive: the system's when present, else the packaged one, which
 * `executablePath()` unpacks into the temporary directory on first use (then reuses).
 */
export async function chromiumExecutable(): Promise<string> {
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  const { default: packaged } = await import("@sparticuz/chromium");
  return packaged.executablePath();
}

/** Headless Chromium with the background services that would reach the network turned off. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumExecutable(),
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
