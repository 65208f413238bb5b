/**
 * Issue #8: "A Tiptap/ProseMirror, CodeMirror or Monaco binding on either provider works
 * unchanged." Stock editor bindings in Debian's Chromium, two pages per room, typed into with the
 * real keyboard: Tiptap (Collaboration + CollaborationCaret) on @hocuspocus/provider over /collab,
 * and CodeMirror 6 (y-codemirror.next) on the stock y-websocket provider over /yjs. The pages claim
 * a made-up user in awareness; remote carets must carry the name and colour of the access token.
 */
import { expect } from "chai";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { ROOT, mintToken, startServer, type TestServer } from "../helpers/server.ts";
import { waitFor } from "../helpers/clients.ts";
import { connectYws, type YwsClient } from "../helpers/yws.ts";
import { openDatabase, readStored, storedText } from "../helpers/documents.ts";
import { testDatabaseUrl } from "../helpers/database.ts";
import { launchChromium, servePage, type PageSite } from "../helpers/browser.ts";
import { toDocumentName } from "../../protocol/document-name.ts";
import type { Database } from "../../db/index.ts";
import type { EditorPage } from "./editor-page/main.ts";

const ORG = "org-editors";
const USERS = {
  ann: { name: "Ann", color: "#123456" },
  bob: { name: "Bob", color: "#654321" },
} as const;
/** The token colours as the browser computes them. */
const RGB = { ann: "rgb(18, 52, 86)", bob: "rgb(101, 67, 33)" };
/** Between keystrokes, so that two pages typing at once interleave on the wire. */
const KEY_DELAY_MS = 10;

interface Binding {
  editor: "tiptap" | "codemirror";
  /** The editable element. */
  content: string;
  /** The label of a remote caret. */
  caretLabel: string;
  /** The socket endpoint the binding's provider connects to. */
  endpoint(server: TestServer): string;
}

const TIPTAP: Binding = {
  editor: "tiptap",
  content: ".ProseMirror",
  caretLabel: ".collaboration-carets__label",
  endpoint: (server) => server.collabUrl,
};
const CODEMIRROR: Binding = {
  editor: "codemirror",
  content: ".cm-content",
  caretLabel: ".cm-ySelectionInfo",
  endpoint: (server) => `ws://127.0.0.1:${server.port}/yjs`,
};

describe("editor bindings in a browser (Chromium), unchanged, on both socket endpoints", function () {
  this.timeout(60_000);
  let server: TestServer;
  let site: PageSite;
  let browser: Browser;
  let db: Database;
  const pages: Page[] = [];
  const yws: YwsClient[] = [];
  /** Uncaught exceptions in the pages: a binding that works unchanged throws none. */
  let pageErrors: string[] = [];

  before(async () => {
    server = await startServer();
    site = await servePage(path.join(ROOT, "test/e2e/editor-page"));
    browser = await launchChromium();
    db = openDatabase(testDatabaseUrl());
  });
  beforeEach(() => {
    pageErrors = [];
  });
  afterEach(async () => {
    while (pages.length) await pages.pop()!.close();
    while (yws.length) yws.pop()!.destroy();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await server?.close();
    await db?.close();
  });

  /** A page with the binding on `room` as `user` (a token for that room only), once it has synced. */
  async function openEditor(binding: Binding, room: string, user: keyof typeof USERS): Promise<Page> {
    const token = await mintToken({ userId: user, orgId: ORG, userInfo: USERS[user], permissions: { [room]: ["room:write"] } });
    const page = await browser.newPage();
    pages.push(page);
    page.on("pageerror", (error) => pageErrors.push(`${binding.editor} (${user}): ${error.message}`));
    const query = new URLSearchParams({ editor: binding.editor, server: binding.endpoint(server), room, token });
    await page.goto(`${site.url}?${query}`);
    await page.waitForFunction(() => (window as unknown as { editor?: EditorPage }).editor?.isSynced() === true, undefined, { timeout: 10_000 });
    return page;
  }

  async function waitForText(page: Page, text: string, what: string): Promise<void> {
    const read = () => page.evaluate(() => (window as unknown as { editor: EditorPage }).editor.text());
    await page
      .waitForFunction((t) => (window as unknown as { editor: EditorPage }).editor.text() === t, text, { timeout: 10_000, polling: 20 })
      .catch(async () => {
        throw new Error(`timed out waiting for ${what}: the editor shows ${JSON.stringify(await read())}, not ${JSON.stringify(text)}`);
      });
  }

  /** The one remote caret in `page`: its label and colour. */
  async function remoteCaret(page: Page, binding: Binding): Promise<{ label: string; color: string }> {
    const label = page.locator(binding.caretLabel);
    await label.waitFor({ state: "attached", timeout: 10_000 });
    expect(await label.count()).to.equal(1);
    return label.evaluate((el) => ({ label: el.textContent ?? "", color: getComputedStyle(el).backgroundColor }));
  }

  /**
   * Ann types `first` and Bob's editor shows it, with Ann's caret labelled from her token; then Ann
   * types `before` at the start while Bob types `after` at the end, and both editors converge.
   */
  async function typeInBoth(binding: Binding, room: string, text: { first: string; before: string; after: string }) {
    const ann = await openEditor(binding, room, "ann");
    const bob = await openEditor(binding, room, "bob");

    await ann.click(binding.content);
    await ann.keyboard.type(text.first, { delay: KEY_DELAY_MS });
    await waitForText(bob, text.first, "Ann's typing in Bob's editor");
    expect(await remoteCaret(bob, binding)).to.deep.equal({ label: USERS.ann.name, color: RGB.ann });

    await bob.click(binding.content);
    await bob.keyboard.press("Control+End");
    await ann.keyboard.press("Control+Home");
    await Promise.all([ann.keyboard.type(text.before, { delay: KEY_DELAY_MS }), bob.keyboard.type(text.after, { delay: KEY_DELAY_MS })]);
    const expected = text.before + text.first + text.after;
    await Promise.all([waitForText(ann, expected, "convergence in Ann's editor"), waitForText(bob, expected, "convergence in Bob's editor")]);
    expect(await remoteCaret(ann, binding)).to.deep.equal({ label: USERS.bob.name, color: RGB.bob });
    expect(pageErrors).to.deep.equal([]);
    return { ann, expected };
  }

  it("Tiptap + @hocuspocus/provider on /collab: typing reaches the other page, concurrent typing converges, remote carets show the token's user", async () => {
    const room = `tiptap-${randomUUID()}`;
    const { ann, expected } = await typeInBoth(TIPTAP, room, { first: "Hello from Ann", before: "Ann: ", after: " and Bob" });

    // The server's document holds the ProseMirror tree the editors show.
    const shared = await ann.evaluate(() => (window as unknown as { editor: EditorPage }).editor.shared());
    expect(shared).to.equal(`<paragraph>${expected}</paragraph>`);
    await waitFor(
      () => server.app.hocuspocus.documents.get(toDocumentName(ORG, room))?.getXmlFragment("content").toString() === shared,
      5000,
      "the server's copy of the document",
    );
  });

  it("CodeMirror 6 + y-codemirror.next on y-websocket over /yjs: typing reaches the other page, concurrent typing converges, remote carets show the token's user, the text is stored", async () => {
    const room = `codemirror-${randomUUID()}`;
    const { expected } = await typeInBoth(CODEMIRROR, room, { first: "let greeting = 'hi';", before: "// Ann\n", after: " // Bob" });

    // Once both pages have left, the server stores the room and unloads it; a fresh client loads it back.
    while (pages.length) await pages.pop()!.close();
    await waitFor(() => !server.app.hocuspocus.documents.has(toDocumentName(ORG, room)), 5000, "the room to be stored and unloaded");
    expect(storedText(await readStored(db, ORG, room))).to.equal(expected);
    const fresh = connectYws(server.httpUrl, room, await mintToken({ userId: "reader", orgId: ORG, permissions: { [room]: ["room:read"] } }));
    yws.push(fresh);
    await waitFor(() => fresh.provider.synced && fresh.text.toString() === expected, 5000, "a fresh client to load the stored text");
  });
});
