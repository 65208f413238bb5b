/**
 * The dashboard's Billing page in Chromium against a server with billing on, its Stripe API a local
 * fake (test/helpers/fake-stripe.ts): an Owner sees the Free plan and its usage meters, and the
 * checkout button sends the browser to the Checkout Session's URL (intercepted: nothing leaves the
 * machine); a Viewer sees the plan and no control. The page passes axe-core and is photographed
 * into docs/dashboard/billing.png.
 */
import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startServer, type TestServer } from "../helpers/server.ts";
import { checkPage } from "../helpers/dashboard.ts";
import { createTeam, startMailbox, type Mailbox, type Team, type TeamMember } from "../helpers/accounts.ts";
import { startFakeStripe, stripeEnv, type FakeStripe } from "../helpers/fake-stripe.ts";
import { launchChromium } from "../helpers/browser.ts";
import { ensureDashboardBuilt } from "../../scripts/build-dashboard.ts";

describe("the dashboard's billing page, billing on (Chromium)", function () {
  this.timeout(120_000);
  let server: TestServer;
  let mailbox: Mailbox;
  let stripe: FakeStripe;
  let browser: Browser;
  let team: Team;
  const contexts: BrowserContext[] = [];

  before(async function () {
    await ensureDashboardBuilt();
    mailbox = await startMailbox();
    stripe = await startFakeStripe();
    server = await startServer({ ...stripeEnv(stripe), SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000" });
    team = await createTeam(server.httpUrl, mailbox);
    browser = await launchChromium();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
    await stripe?.close();
    await mailbox?.close();
  });

  /** A browser signed in as `member`: its session cookie, set for the server's address. */
  async function pageAs(member: TeamMember): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    const [name, value] = member.client.sessionCookie!.split("=") as [string, string];
    await context.addCookies([{ name, value, url: server.httpUrl }]);
    return context.newPage();
  }

  it("shows an Owner the Free plan with its usage meters, and sends the browser to Stripe Checkout", async () => {
    const page = await pageAs(team.owner);
    await page.goto(`${server.httpUrl}/organizations/${team.orgId}`);
    await page.getByRole("link", { name: "Billing" }).click();
    await page.getByRole("heading", { name: "Billing", level: 1 }).waitFor();
    await page.getByText("Free", { exact: true }).waitFor();
    // The Free plan's limits (50 monthly active users, 3 rooms). The used figures read "—" while
    // the composition root gives BillingService no usageOf (GET …/billing answers usage: null).
    const usage = page.getByRole("region", { name: "Usage this period" });
    await usage.getByText(/ \/ 50$/).waitFor();
    await usage.getByText(/ \/ 3$/).waitFor();
    await checkPage(page, "billing");

    // The Checkout page is Stripe's: answered here, so nothing reaches the internet.
    await page.route("https://checkout.stripe.test/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<title>Checkout</title>" }));
    await page.getByLabel("Change plan to").selectOption("pro");
    await page.getByRole("button", { name: "Go to checkout" }).click();
    await page.waitForURL(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/);
    const sessions = stripe.calls("POST", "/v1/checkout/sessions");
    expect(sessions).to.have.length(1);
    expect(sessions[0]!.form["metadata[org_id]"]).to.equal(team.orgId);
    expect(sessions[0]!.form["line_items[0][price]"]).to.equal("price_pro");
  });

  it("shows a Viewer the plan and no control that buys or manages billing", async () => {
    const page = await pageAs(team.viewer);
    await page.goto(`${server.httpUrl}/organizations/${team.orgId}/billing`);
    await page.getByText("Free", { exact: true }).waitFor();
    await page.getByRole("region", { name: "Usage this period" }).getByText(/ \/ 50$/).waitFor();
    expect(await page.getByRole("main").getByRole("button").allTextContents()).to.deep.equal([]);
    expect(await page.getByLabel("Change plan to").count()).to.equal(0);
    expect(stripe.calls("POST", "/v1/billing_portal/sessions")).to.have.length(0);
  });
});
