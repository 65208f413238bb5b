/**
 * Stripe webhooks on the embedded SQLite database, whose path differs from PostgreSQL's: no row
 * lock, so one organisation's events take turns in the process and the subscription is retrieved
 * before the (short) write transaction. Replays and concurrent events must still apply once and
 * lose nothing.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { tempSqliteUrl } from "../../helpers/database.ts";
import { createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { deliver, startFakeStripe, stripeEnv, SubscriptionDriver, type FakeStripe } from "../../helpers/fake-stripe.ts";

describe("Stripe webhooks on SQLite", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let stripe: FakeStripe;
  let server: TestServer;
  let team: Team;
  let driver: SubscriptionDriver;

  before(async () => {
    mailbox = await startMailbox();
    stripe = await startFakeStripe();
    server = await startServer({ DATABASE_URL: tempSqliteUrl(), SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", ...stripeEnv(stripe) });
    team = await createTeam(server.httpUrl, mailbox);
    driver = new SubscriptionDriver({ stripe, server, orgId: team.orgId, owner: team.owner.client });
  });
  after(async () => {
    await server.close();
    await stripe.close();
    await mailbox.close();
  });

  const account = () => server.app.db.models.BillingAccount.findByPk(team.orgId);

  it("applies a checkout, a replay once, and both of two concurrent events in order", async () => {
    const start = Math.floor(Date.now() / 1000);
    const { customer, subscription } = await driver.subscribe("starter", start);
    expect(await account()).to.include({ plan: "starter", status: "active", stripeSubscriptionId: subscription });

    driver.set(subscription, customer, "active", "price_pro", start);
    const event = driver.subscriptionEvent("customer.subscription.updated", subscription, start + 1);
    const twice = await Promise.all([deliver(server.httpUrl, event), deliver(server.httpUrl, event)]);
    expect(twice.map((d) => d.body.outcome).sort()).to.deep.equal(["applied", "duplicate"]);
    expect(await server.app.db.models.StripeEvent.count({ where: { id: event.id } })).to.equal(1);

    // As on PostgreSQL: the first retrieval (Starter again) is slow, the subscription moves on meanwhile.
    const raced = await driver.raceUpdates(subscription, customer, start, start + 2, "price_starter", "price_business");
    expect(raced.map((d) => d.body.outcome)).to.deep.equal(["applied", "applied"]);
    expect((await account())!.plan).to.equal("business");

    const older = await deliver(server.httpUrl, driver.subscriptionEvent("customer.subscription.updated", subscription, start));
    expect(older.body.outcome).to.equal("ignored");
    expect((await account())!.plan).to.equal("business");
  });
});
