/**
 * The dashboard in Chromium (playwright-core) against a real server, a real SMTP sink and real
 * providers: a team signs up through the mailed link, creates an organisation, an API key (copied),
 * a room, sees an end user connect live (room page and live log) and its edit in the document view,
 * reads the usage the server measured, invites a Viewer who signs up through the invitation link
 * and is offered no button that changes anything, and resets a password through the mailed link.
 * Every page passes axe-core (no serious or critical violation) and is photographed into
 * docs/dashboard/ for docs/dashboard.md.
 */
import { expect } from "chai";
import net from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startServer, type TestServer } from "../helpers/server.ts";
import { checkPage } from "../helpers/dashboard.ts";
import { startMailbox, type CapturedMail, type Mailbox } from "../helpers/accounts.ts";
import { connectProvider, waitForAcked, waitForSynced, type TestProvider } from "../helpers/clients.ts";
import { launchChromium } from "../helpers/browser.ts";
import { ensureDashboardBuilt } from "../../scripts/build-dashboard.ts";

const PASSWORD = "correct horse battery";

/** A free port, so PUBLIC_URL (the mails' links) can name the server's own address. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The link of a mail (…/path?token=…), as the recipient would click it. */
function linkIn(mail: CapturedMail, pathname: string): string {
  const match = new RegExp(`https?://\\S+${pathname}\\?token=[A-Za-z0-9_-]+`).exec(mail.text);
  if (!match) throw new Error(`no ${pathname} link in mail: ${mail.text}`);
  return match[0];
}

describe("the dashboard (Chromium)", function () {
  this.timeout(180_000);
  let server: TestServer;
  let mailbox: Mailbox;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];
  const providers: TestProvider[] = [];
  // The story's state, carried from one step to the next.
  const owner = { email: `owner-${Date.now()}@example.test`, name: "Olivia Owner" };
  const viewer = { email: `viewer-${Date.now()}@example.test`, name: "Victor Viewer" };
  let ownerPage: Page;
  let orgUrl: string;
  let secret: string;

  before(async function () {
    await ensureDashboardBuilt();
    mailbox = await startMailbox();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServer({ PORT: String(port), PUBLIC_URL: base, SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", USAGE_FLUSH_MS: "200" });
    browser = await launchChromium();
    ownerPage = await newPage();
  });
  after(async () => {
    for (const p of providers) p.destroy();
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
    await mailbox?.close();
  });

  async function newPage(viewport = { width: 1280, height: 860 }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    contexts.push(context);
    return context.newPage();
  }

  it("is served at / with client-side routes falling back to index.html, and leaves the server's paths alone", async () => {
    const root = await fetch(`${base}/`, { headers: { accept: "text/html" } });
    expect(root.status).to.equal(200);
    const html = await root.text();
    expect(html).to.contain('<div id="root">');
    expect(root.headers.get("content-security-policy")).to.contain("script-src 'self'");
    const deep = await fetch(`${base}/organizations/x/rooms?page=2`, { headers: { accept: "text/html" } });
    expect(deep.status).to.equal(200);
    expect(await deep.text()).to.equal(html);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${base}${script}`);
    expect(asset.status).to.equal(200);
    expect(asset.headers.get("cache-control")).to.contain("immutable");
    const api = await fetch(`${base}/api/nothing-here`, { headers: { accept: "text/html" } });
    expect(api.status).to.equal(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).to.be.a("string");
    expect((await fetch(`${base}/health`, { headers: { accept: "text/html" } })).headers.get("content-type")).to.contain("json");
    expect((await fetch(`${base}/missing.png`)).status).to.equal(404);
  });

  it("signs a new user up and verifies the email through the mailed link", async () => {
    const page = ownerPage;
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login\?next=/);
    await checkPage(page, "login");
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByLabel("Name").fill(owner.name);
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await checkPage(page, "sign-up");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("A link to finish signing up is on its way").waitFor();

    const mail = await mailbox.waitForMail(owner.email, /verify/i);
    await page.goto(linkIn(mail, "/verify-email"));
    await page.getByText(`Your email ${owner.email} is verified.`).waitFor();
    await checkPage(page, "verify-email");
    await page.getByRole("link", { name: "Sign in" }).click();
    expect(await page.getByLabel("Email").inputValue()).to.equal(owner.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Organisations" }).waitFor();
  });

  it("creates an organisation and lands on its overview", async () => {
    const page = ownerPage;
    await page.getByLabel("Organisation name").fill("Acme");
    await checkPage(page, "organisations");
    await page.getByRole("button", { name: "Create organisation" }).click();
    await page.getByRole("heading", { name: "Acme" }).waitFor();
    orgUrl = page.url().replace(/\/$/, "");
    expect(orgUrl).to.match(/\/organizations\/[0-9a-f-]{36}$/);
    // The usage the server measured (GET …/usage): nobody has connected yet.
    await page.getByRole("region", { name: "Monthly active users" }).getByText(/^0 \/ /).waitFor();
    await checkPage(page, "overview");
  });

  it("creates an API key, shows its secret once and copies it; rotates one with its grace period counting down", async () => {
    const page = ownerPage;
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Key name").fill("backend");
    await page.getByRole("button", { name: "Create key" }).click();
    secret = (await page.getByTestId("api-key-secret").textContent())!;
    expect(secret).to.match(/^sk_/);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(secret);
    expect(await page.getByRole("cell", { name: `${secret.slice(0, 12)}…` }).count()).to.equal(1);
    await checkPage(page, "api-keys");
    await page.getByRole("button", { name: "Done" }).click();
    expect(await page.getByTestId("api-key-secret").count()).to.equal(0);

    // A second key, rotated: a new secret once, and the old one's 24-hour grace counting down.
    await page.getByLabel("Key name").fill("worker");
    await page.getByRole("button", { name: "Create key" }).click();
    const first = (await page.getByTestId("api-key-secret").textContent())!;
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByRole("row", { name: /worker/ }).getByRole("button", { name: "Rotate" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Rotate" }).click();
    const rotated = (await page.getByTestId("api-key-secret").textContent())!;
    expect(rotated).to.match(/^sk_/).and.not.equal(first);
    const badge = page.getByRole("row", { name: /worker/ }).getByText(/previous secret ends in 2[34]:\d\d:\d\d/);
    const before = await badge.textContent();
    await page.waitForFunction((text) => !document.body.textContent!.includes(text!), before, { timeout: 5000 });
    await page.getByRole("button", { name: "Done" }).click();
  });

  it("creates a room, and shows an end user who connects with a token minted by the key live in the room, the live log and the document", async () => {
    const page = ownerPage;
    await page.getByRole("link", { name: "Rooms" }).click();
    await page.getByText("No rooms yet.", { exact: false }).waitFor();
    await page.getByLabel("Room id").fill("design-review");
    await page.getByLabel("Name", { exact: true }).fill("Design review");
    await checkPage(page, "rooms");
    await page.getByRole("button", { name: "Create room" }).click();
    await page.getByRole("heading", { name: "Room design-review" }).waitFor();
    await page.getByText("Nobody is connected.").waitFor();

    const orgId = orgUrl.split("/").at(-1)!;
    const minted = await fetch(`${base}/api/organizations/${orgId}/access-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ userId: "ann", userInfo: { name: "Ann", color: "#be123c" }, permissions: { "design-review": ["room:write"] } }),
    });
    expect(minted.status).to.equal(201);
    const { token } = (await minted.json()) as { token: string };
    // The live log in a second tab, streaming before Ann arrives.
    const logs = await page.context().newPage();
    await logs.goto(`${orgUrl}/logs`);
    await logs.getByText("Live: new entries appear at the top.").waitFor();
    const ann = connectProvider(server.collabUrl, "design-review", token);
    providers.push(ann);
    await page.getByTestId("active-users").getByText("Ann").waitFor({ timeout: 10_000 });
    await logs.getByTestId("log-table").getByRole("row", { name: /\bconnect design-review ann\b/ }).waitFor({ timeout: 10_000 });

    // Ann types; the room's document view (GET …/ydoc) shows it once reloaded.
    await waitForSynced(ann);
    ann.text.insert(0, "Hello from Ann");
    await waitForAcked(ann);
    await page.getByRole("button", { name: "Reload document" }).click();
    await page.getByLabel("The room's document as JSON").getByText("Hello from Ann", { exact: false }).waitFor();
    await checkPage(page, "room");

    ann.destroy();
    await page.getByText("Nobody is connected.").waitFor({ timeout: 10_000 });
    await logs.getByTestId("log-table").getByRole("row", { name: /\bdisconnect design-review ann\b/ }).waitFor({ timeout: 10_000 });
    await checkPage(logs, "logs");
    await logs.close();
  });

  it("finds rooms: filters the list as you type, opens one by its id", async () => {
    const page = ownerPage;
    const orgId = orgUrl.split("/").at(-1)!;
    const created = await fetch(`${base}/api/organizations/${orgId}/rooms`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "roadmap" }),
    });
    expect(created.status).to.equal(201);
    await page.getByRole("link", { name: "Rooms" }).click();
    await page.getByRole("link", { name: "roadmap" }).waitFor();
    await page.getByLabel("Search rooms").fill("design");
    await page.getByRole("link", { name: "roadmap" }).waitFor({ state: "detached" });
    expect(await page.getByRole("link", { name: "design-review" }).count()).to.equal(1);
    await page.getByLabel("Search rooms").fill("roadmap");
    await page.getByRole("button", { name: "Open room" }).click();
    await page.getByRole("heading", { name: "Room roadmap" }).waitFor();
    await page.goto(`${orgUrl}/rooms/design-review`);
    await page.getByRole("heading", { name: "Room design-review" }).waitFor();
  });

  it("edits a room's settings", async () => {
    const page = ownerPage;
    await page.getByLabel("Max participants").fill("12");
    await page.getByLabel("Metadata (JSON)").fill('{"team":"design"}');
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    const orgId = orgUrl.split("/").at(-1)!;
    const room = await fetch(`${base}/api/organizations/${orgId}/rooms/design-review`, { headers: { authorization: `Bearer ${secret}` } });
    const { room: saved } = (await room.json()) as { room: { maxParticipants: number; metadata: object } };
    expect(saved.maxParticipants).to.equal(12);
    expect(saved.metadata).to.deep.equal({ team: "design" });
  });

  it("invites a Viewer, who signs up through the invitation link and sees the organisation with that role and no button that changes anything", async () => {
    const page = ownerPage;
    await page.getByRole("link", { name: "Members" }).click();
    await page.getByLabel("Email").fill(viewer.email);
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await page.getByText(`An invitation is on its way to ${viewer.email}`).waitFor();
    await page.getByText(`${viewer.email} as`).waitFor();
    await checkPage(page, "members");

    const mail = await mailbox.waitForMail(viewer.email, /invit/i);
    const guest = await newPage({ width: 390, height: 844 });
    await guest.goto(linkIn(mail, "/accept-invitation"));
    await guest.getByText("You are invited to").waitFor();
    await guest.getByLabel("Name").fill(viewer.name);
    await guest.getByLabel("Password").fill(PASSWORD);
    await checkPage(guest, "accept-invitation");
    await guest.getByRole("button", { name: "Create account and join" }).click();
    await guest.getByRole("heading", { name: "Acme" }).waitFor();

    await guest.goto(`${base}/`);
    await guest.getByText("viewer · ").waitFor();
    const changes = /create|save|delete|remove|rename|invit|revoke|rotate|checkout|billing/i;
    for (const section of ["overview", "rooms", "rooms/design-review", "members", "settings"]) {
      await guest.goto(`${orgUrl}/${section}`);
      await guest.getByRole("heading", { level: 1 }).waitFor();
      await guest.waitForFunction(() => !document.querySelector(".loading"), undefined, { timeout: 10_000 });
      const buttons = await guest.getByRole("main").getByRole("button").allTextContents();
      expect(buttons.filter((b) => changes.test(b)), `buttons on ${section}`).to.deep.equal([]);
      expect(await guest.getByRole("main").getByRole("combobox").count(), `role selects on ${section}`).to.equal(0);
    }
    expect(await guest.getByRole("link", { name: "API keys" }).count()).to.equal(0);
    await guest.goto(`${orgUrl}/rooms/design-review`);
    await guest.getByText("Nobody is connected.").waitFor();
    await checkPage(guest, "room-as-viewer-phone");

    // Someone else declines theirs through the link: it stops working, and leaves the pending list.
    await page.getByLabel("Email").fill("unsure@example.test");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await page.getByText("unsure@example.test as").waitFor();
    const declining = await newPage();
    await declining.goto(linkIn(await mailbox.waitForMail("unsure@example.test", /invit/i), "/accept-invitation"));
    await declining.getByRole("button", { name: "Decline the invitation" }).click();
    await declining.getByText("You declined to join Acme").waitFor();

    // The owner now sees the Viewer as a member, with the role offered for change.
    await page.reload();
    await page.getByRole("cell", { name: viewer.email }).waitFor();
    await page.getByText("No pending invitations.").waitFor();
    expect(await page.getByLabel(`Role of ${viewer.name}`).inputValue()).to.equal("viewer");
  });

  it("shows the usage the server measured, and no billing when billing is off", async () => {
    const page = ownerPage;
    await page.goto(`${orgUrl}/usage`);
    // Ann is this month's one active user; the org has two rooms; the charts are drawn.
    await page.getByRole("region", { name: "Monthly active users" }).getByText(/^1 \/ /).waitFor({ timeout: 10_000 });
    await page.getByRole("region", { name: "Rooms", exact: true }).getByText(/^2 \/ /).waitFor();
    await page.getByRole("img", { name: /^Peak concurrent connections: \d+ points/ }).locator(".recharts-line").waitFor();
    await checkPage(page, "usage");
    // Billing off: GET …/billing answers 200 with enabled: false, and the dashboard hides it.
    const billing = await page.request.get(`${orgUrl.replace(base, `${base}/api`)}/billing`);
    expect(billing.status()).to.equal(200);
    expect(((await billing.json()) as { enabled: boolean }).enabled).to.equal(false);
    expect(await page.getByRole("link", { name: "Billing" }).count()).to.equal(0);
    await page.goto(`${orgUrl}/billing`);
    await page.getByText("Billing is not enabled on this server.").waitFor();
    await page.goto(`${orgUrl}/settings`);
    await page.getByLabel("Organisation name").fill("Acme Inc");
    await page.getByRole("button", { name: "Rename" }).click();
    await page.getByText("Saved.").waitFor();
    await checkPage(page, "settings");
    await page.goto(`${base}/account`);
    await page.getByLabel("Name", { exact: true }).fill("Olivia O.");
    await page.getByRole("button", { name: "Save name" }).click();
    await page.getByText("Saved.").waitFor();
    await page.getByRole("link", { name: "Olivia O." }).waitFor();
    await page.getByTestId("sessions").getByText("(this browser)").waitFor();
    await checkPage(page, "account");
  });

  it("resets a forgotten password through the mailed link", async () => {
    const page = await newPage();
    await page.goto(`${base}/login`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByLabel("Email").fill(owner.email);
    await checkPage(page, "forgot-password");
    await page.getByRole("button", { name: "Send a reset link" }).click();
    await page.getByText("a link to reset its password is on its way").waitFor();

    const mail = await mailbox.waitForMail(owner.email, /reset/i);
    await page.goto(linkIn(mail, "/reset-password"));
    await page.getByLabel("New password", { exact: true }).fill("a brand new password");
    await page.getByLabel("Repeat the new password").fill("a brand new password");
    await checkPage(page, "reset-password");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Your password is changed.").waitFor();
    await page.getByRole("link", { name: "Sign in" }).click();
    await page.getByLabel("Password").fill("a brand new password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Organisations" }).waitFor();
    await page.getByRole("link", { name: "Acme Inc" }).waitFor();
  });

  it("deletes the organisation after its name is typed", async () => {
    const page = ownerPage;
    await page.goto(`${base}/login`);
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill("a brand new password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Organisations" }).waitFor();
    await page.goto(`${orgUrl}/settings`);
    await page.getByRole("button", { name: "Delete organisation" }).click();
    const dialog = page.getByRole("dialog");
    const confirm = dialog.getByRole("button", { name: "Delete organisation" });
    expect(await confirm.isDisabled()).to.equal(true);
    await dialog.getByLabel("Type “Acme Inc” to confirm").fill("Acme Inc");
    await checkPage(page, "delete-organisation");
    await confirm.click();
    await page.getByText("You are not in an organisation yet.").waitFor();
    expect((await fetch(`${base}/api/organizations/${orgUrl.split("/").at(-1)}/rooms`, { headers: { authorization: `Bearer ${secret}` } })).status).to.equal(401);
  });
});
