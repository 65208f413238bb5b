/**
 * Issue #21: the editor demo (/demo, DEMO=true) in Chromium with one browser context per person:
 * both type and converge; each sees the other's avatar and caret with the token's name and colour;
 * a comment with an @mention reaches the other's panel, inbox and toast; a reaction and a resolve
 * propagate; a comments-only user cannot type; axe-core finds no serious or critical violation.
 * With UPDATE_SCREENSHOTS=1 it also writes the screenshots docs/ui.md shows.
 */
import { expect } from "chai";
import path from "node:path";
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ROOT, startServer, type TestServer } from "../helpers/server.ts";
import { launchChromium } from "../helpers/browser.ts";
import { truncateAll } from "../helpers/database.ts";
import { colorForUser } from "../../protocol/colors.ts";

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === "1" ? path.join(ROOT, "docs/images") : null;

/** "#E57373" → "rgb(229, 115, 115)", as the browser computes colours. */
function rgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

describe("the editor demo in Chromium, two people in one document", function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const room = `demo-${randomUUID().slice(0, 8)}`;
  let pageErrors: string[] = [];

  before(async () => {
    await truncateAll(); // the demo organisation's inbox starts empty
    server = await startServer({ DEMO: "true" });
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
  });

  /** `bypassCSP` lets axe-core be injected into the page (the server's CSP allows no inline script). */
  async function signIn(name: string, role: "editor" | "commenter" = "editor", bypassCSP = false): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${name}: ${error.message}`));
    await page.goto(`${server.httpUrl}/demo/?room=${room}`);
    await page.getByLabel("Your name").fill(name);
    await page.getByLabel("You may").selectOption(role);
    await page.getByRole("button", { name: "Join" }).click();
    await page.locator(".ProseMirror").waitFor();
    return page;
  }

  /** The document's text, without the carets' name labels drawn into it. */
  const editorText = (page: Page) =>
    page.locator(".ProseMirror").evaluate((el) => {
      const copy = el.cloneNode(true) as HTMLElement;
      for (const caret of copy.querySelectorAll(".collaboration-carets__caret")) caret.remove();
      return copy.textContent ?? "";
    });

  it("converges, shows avatars and carets, carries a mention to the panel, inbox and toast, and propagates reactions and resolve", async () => {
    pageErrors = [];
    const alice = await signIn("Alice");
    const bob = await signIn("Bob");

    // Both type at once.
    await alice.locator(".ProseMirror").click();
    await bob.locator(".ProseMirror").click();
    await Promise.all([alice.keyboard.type("Hello from Alice. ", { delay: 10 }), bob.keyboard.type("Bob was here. ", { delay: 10 })]);
    for (let i = 0; i < 100; i++) {
      const [a, b] = await Promise.all([editorText(alice), editorText(bob)]);
      if (a === b && a.includes("Hello from Alice.") && a.includes("Bob was here.")) break;
      await alice.waitForTimeout(50);
    }
    expect(await editorText(alice)).to.equal(await editorText(bob));
    expect(await editorText(alice)).to.include("Hello from Alice.").and.to.include("Bob was here.");

    // Avatars and carets with the names and colours of the tokens.
    await alice.locator('.sf-avatar-stack [aria-label="Bob"]').waitFor();
    await bob.locator('.sf-avatar-stack [aria-label="Alice"]').waitFor();
    const bobCaret = alice.locator(".collaboration-carets__label", { hasText: "Bob" });
    await bobCaret.waitFor();
    expect(await bobCaret.evaluate((el) => getComputedStyle(el).backgroundColor)).to.equal(rgb(colorForUser("bob")));
    const aliceCaret = bob.locator(".collaboration-carets__label", { hasText: "Alice" });
    await aliceCaret.waitFor();
    expect(await aliceCaret.evaluate((el) => getComputedStyle(el).backgroundColor)).to.equal(rgb(colorForUser("alice")));

    // Alice selects her sentence and comments on it, mentioning Bob from the suggestions.
    await alice.locator(".ProseMirror").press("ControlOrMeta+a");
    const composer = alice.getByRole("textbox", { name: "New comment" });
    await composer.click();
    await composer.pressSequentially("Please check this @bo", { delay: 10 });
    await alice.getByRole("option", { name: /Bob/ }).waitFor();
    await composer.press("Enter"); // inserts @bob
    await composer.press("Enter"); // sends
    await alice.locator(".sf-anchor").first().waitFor(); // the commented text is highlighted

    const bobThread = bob.locator(".sf-comments-panel .sf-thread", { hasText: "Please check this" });
    await bobThread.waitFor();
    expect(await bobThread.locator(".sf-mention").innerText()).to.equal("@Bob");
    await bob.locator(".sf-inbox .sf-inbox-item.sf-unread", { hasText: "Alice mentioned you" }).waitFor();
    await bob.locator(".sf-toast", { hasText: "Alice mentioned you" }).waitFor();
    expect(await bob.locator(".sf-unread-count").innerText()).to.equal("1");
    if (SCREENSHOTS) {
      await bob.screenshot({ path: path.join(SCREENSHOTS, "demo-editor.png") });
      await bobThread.screenshot({ path: path.join(SCREENSHOTS, "thread.png") });
      await bob.locator(".sf-inbox").screenshot({ path: path.join(SCREENSHOTS, "inbox.png") });
      await bob.locator(".sf-toast").first().screenshot({ path: path.join(SCREENSHOTS, "toast.png") });
      await bob.locator(".sf-avatar-stack").screenshot({ path: path.join(SCREENSHOTS, "avatar-stack.png") });
    }

    // Bob reacts with the picker; Alice sees it.
    await bobThread.getByRole("button", { name: "Add reaction" }).first().click();
    await bob.getByRole("dialog", { name: "Pick an emoji" }).getByRole("button", { name: "party" }).click();
    await alice.locator(".sf-thread").getByRole("button", { name: "🎉 1: Bob" }).waitFor();

    // The anchored thread leads Bob to its text: selected in his editor.
    await bobThread.getByRole("button", { name: "Show in document" }).click();
    // The editor selects the anchor's range once the thread's button has been handled (a render later).
    await bob.waitForFunction(() => (window.getSelection()?.toString() ?? "").includes("Hello from Alice."), undefined, { timeout: 5000 });

    // Alice resolves; Bob's panel moves the thread behind "Show resolved".
    await alice.locator(".sf-thread").getByRole("button", { name: "Resolve" }).click();
    await bob.getByRole("button", { name: "Show resolved (1)" }).waitFor();
    expect(await bob.locator(".sf-comments-panel .sf-thread").count()).to.equal(0);

    // The mention marked read from Bob's inbox.
    await bob.getByRole("button", { name: /^Mark as read: Alice mentioned you/ }).click();
    await bob.locator(".sf-unread-count", { hasText: "0" }).waitFor();
    expect(pageErrors).to.deep.equal([]);
  });

  it("a comments-only user cannot type into the document but may comment", async () => {
    pageErrors = [];
    const carol = await signIn("Carol", "commenter");
    const before = await editorText(carol);
    const editor = carol.locator(".ProseMirror");
    expect(await editor.getAttribute("contenteditable")).to.equal("false");
    await editor.click();
    await carol.keyboard.type("should not appear");
    expect(await editorText(carol)).to.equal(before);
    expect(await carol.getByRole("textbox", { name: "New comment" }).count()).to.equal(1);
    // The sign-in endpoint checks its input.
    const bad = await fetch(`${server.httpUrl}/demo/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "", role: "admin" }) });
    expect(bad.status).to.equal(400);
    expect(pageErrors).to.deep.equal([]);
  });

  it("axe-core finds no serious or critical accessibility violation, in light and dark", async () => {
    const page = await signIn("Dana", "editor", true);
    // Something in every part of the page: an open thread with a reaction and the emoji picker open.
    await page.locator(".ProseMirror").press("ControlOrMeta+a");
    await page.getByRole("textbox", { name: "New comment" }).fill("A note for later");
    await page.getByRole("button", { name: "Comment" }).click();
    const thread = page.locator(".sf-thread", { hasText: "A note for later" });
    await thread.getByRole("button", { name: "Add reaction" }).click();
    await page.getByRole("button", { name: "rocket" }).click();
    await thread.getByRole("button", { name: /^🚀 1/ }).waitFor();
    await thread.getByRole("button", { name: "Add reaction" }).click();
    const axe = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    await page.addScriptTag({ content: axe });
    for (const theme of ["light", "dark"]) {
      if (theme === "dark") await page.getByRole("button", { name: "Dark theme" }).click();
      const violations = await page.evaluate(async () => {
        const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }> } }).axe.run();
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      });
      expect(violations, theme).to.deep.equal([]);
      if (SCREENSHOTS && theme === "dark") {
        await page.keyboard.press("Escape"); // the emoji picker would cover the thread
        await page.screenshot({ path: path.join(SCREENSHOTS, "demo-dark.png") });
      }
    }
  });
});
