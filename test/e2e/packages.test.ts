/**
 * Issue #21: the packages an app installs. `npm pack` tarballs of @syncforge/client, @syncforge/react
 * and @syncforge/react-ui (scripts/build-packages.ts) are unpacked into an empty folder's
 * node_modules exactly as npm lays them out; a tiny app imports them by name, typechecks against
 * their declarations, is built by Vite and renders a live AvatarStack in Chromium against the server
 * — one React context across the three packages.
 *
 * No network: npm itself cannot install offline without registry metadata, so the tarballs are
 * unpacked with tar, and their third-party dependencies (react, yjs, @hocuspocus/provider) resolve
 * from the repository's node_modules, since the app folder lies under it
 * (node_modules/.cache/…). An app outside runs `npm install ./syncforge-*.tgz` (docs/sdk.md).
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { ROOT, mintToken, startServer, type TestServer } from "../helpers/server.ts";
import { launchChromium, servePage, type PageSite } from "../helpers/browser.ts";
import { buildPackages } from "../../scripts/build-packages.ts";

const APP = `
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { createClient, type Client } from "@syncforge/client";
import { RoomProvider, SyncForgeProvider } from "@syncforge/react";
import { AvatarStack, type UserView } from "@syncforge/react-ui";
import "@syncforge/react-ui/styles.css";

const params = new URLSearchParams(location.search);
const client: Client = createClient({ url: params.get("url")!, token: params.get("token")! });
const none: UserView[] = [];
createRoot(document.getElementById("root")!).render(
  h(SyncForgeProvider, { client }, h(RoomProvider, { id: "packaged", fallback: h("p", null, "loading " + none.length) }, h(AvatarStack, { showSelf: true }))),
);
`;

describe("the packed packages in an empty folder, built by Vite", function () {
  this.timeout(240_000);
  let server: TestServer;
  let site: PageSite | null = null;
  let browser: Browser | null = null;
  let packDir: string;
  let app: string;

  before(async () => {
    packDir = await mkdtemp(path.join(tmpdir(), "sf-packs-"));
    await mkdir(path.join(ROOT, "node_modules/.cache"), { recursive: true });
    app = await mkdtemp(path.join(ROOT, "node_modules/.cache/sf-tarball-app-"));
    server = await startServer();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await server.close();
    await rm(packDir, { recursive: true, force: true });
    await rm(app, { recursive: true, force: true });
  });

  it("installs, typechecks, builds and renders AvatarStack", async () => {
    const tarballs = await buildPackages({ pack: true, packDir });
    expect(tarballs.map((t) => path.basename(t))).to.deep.equal(["syncforge-client-0.1.0.tgz", "syncforge-react-0.1.0.tgz", "syncforge-react-ui-0.1.0.tgz"]);
    for (const [tarball, name] of tarballs.map((t, i) => [t, ["client", "react", "react-ui"][i]!] as const)) {
      const target = path.join(app, "node_modules/@syncforge", name);
      await mkdir(target, { recursive: true });
      execFileSync("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
    }
    await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "tiny-app", private: true, type: "module" }));
    await writeFile(path.join(app, "index.html"), '<!doctype html><html lang="en"><body><div id="root"></div><script type="module" src="./main.ts"></script></body></html>');
    await writeFile(path.join(app, "main.ts"), APP);

    // The declarations the packages ship are enough for a strict TypeScript app.
    execFileSync(process.execPath, [
      path.join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
      "--lib", "es2022,dom,dom.iterable", "--skipLibCheck", "main.ts",
    ], { cwd: app, stdio: "pipe" });

    site = await servePage(app);
    browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const token = await mintToken({ userId: "pat", userInfo: { name: "Pat Packaged" }, permissions: { packaged: ["room:write"] } });
    await page.goto(`${site.url}?url=${encodeURIComponent(server.httpUrl)}&token=${encodeURIComponent(token)}`);
    const avatar = page.locator('.sf-avatar-stack [aria-label="Pat Packaged (you)"]');
    await avatar.waitFor();
    expect(await avatar.locator(".sf-avatar").innerText()).to.equal("PP");
    // The stylesheet came from @syncforge/react-ui/styles.css: the stack is a flex row.
    expect(await page.locator(".sf-avatar-stack").evaluate((el) => getComputedStyle(el).display)).to.equal("flex");
    expect(errors).to.deep.equal([]);
  });
});
