/**
 * Stripe billing end to end, against a local fake Stripe API (test/helpers/fake-stripe.ts) and
 * webhooks signed as Stripe signs them: Checkout, the portal, every handled event, replays,
 * out-of-order and concurrent deliveries, bad signatures, the past-due grace, who may manage
 * billing, and metered usage.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { createTeam, startMailbox, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { deliver, signedEvent, startFakeStripe, stripeEnv, SubscriptionDriver, type FakeStripe } from "../../helpers/fake-stripe.ts";
import { createManualClock, type ManualClock } from "../../../server/domain/clock.ts";
import { PLANS } from "../../../server/domain/billing/plans.ts";

const DAY = 24 * 3600 * 1000;
const now = () => Math.floor(Date.now() / 1000);

describe("Stripe billing", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let stripe: FakeStripe;
  let server: TestServer;
  let clock: ManualClock;
  let team: Team;
  let driver: SubscriptionDriver;

  before(async () => {
    mailbox = await startMailbox();
    stripe = await startFakeStripe();
    clock = createManualClock();
    server = await startServer(
      {
        SMTP_URL: mailbox.smtpUrl,
        BCRYPT_ROUNDS: "4",
        AUTH_RATE_LIMIT: "100000",
        ...stripeEnv(stripe),
        STRIPE_METER_EVENT_NAME: "syncforge_mau",
        STRIPE_RETURN_URL: "https://app.example.test/billing",
      },
      { clock },
    );
    team = await createTeam(server.httpUrl, mailbox);
    driver = new SubscriptionDriver({ stripe, server, orgId: team.orgId, owner: team.owner.client });
  });
  beforeEach(async () => {
    clock.set(new Date());
    const { BillingAccount, StripeEvent } = server.app.db.models;
    await StripeEvent.destroy({ where: {} });
    await BillingAccount.destroy({ where: {} });
    stripe.requests.length = 0;
  });
  after(async () => {
    await server.close();
    await stripe.close();
    await mailbox.close();
  });

  const billingPath = () => `/organizations/${team.orgId}/billing`;
  const account = () => server.app.db.models.BillingAccount.findByPk(team.orgId);
  const eventRows = () => server.app.db.models.StripeEvent.count();
  const retrievals = () => stripe.calls("GET", "/v1/subscriptions/").length;

  const subscribe = (plan: "starter" | "pro" | "business", created?: number) => driver.subscribe(plan, created);
  const subscriptionEvent = (type: string, subscription: string, created: number) => driver.subscriptionEvent(type, subscription, created);
  const invoiceEvent = (type: string, customer: string, subscription: string, created: number, legacy = false) => driver.invoiceEvent(type, customer, subscription, created, legacy);

  it("sells a plan through Checkout: one customer per organisation, then the webhooks make it the plan in effect", async () => {
    const free = await team.owner.client.get(billingPath());
    expect(free.body).to.include({ enabled: true, status: "none", cancel_at_period_end: false, current_period: null });
    expect(free.body.plan).to.deep.equal({ id: "free", name: "Free" });
    // Free's limits are enforced: three rooms, the fourth is 402 until the organisation pays.
    const rooms = `/organizations/${team.orgId}/rooms`;
    for (const id of ["a", "b", "c"]) expect((await team.owner.client.post(rooms, { id })).status).to.equal(201);
    expect((await team.owner.client.post(rooms, { id: "d" })).status).to.equal(402);

    const first = await team.owner.client.post(`${billingPath()}/checkout`, { plan: "pro" });
    expect(first.status).to.equal(200);
    expect(first.body.url).to.match(/^https:\/\/checkout\.stripe\.test\//);
    const again = await team.owner.client.post(`${billingPath()}/checkout`, { plan: "starter" });
    expect(again.status).to.equal(200);

    const customers = stripe.calls("POST", "/v1/customers");
    expect(customers).to.have.length(1);
    expect(customers[0]!.form["metadata[org_id]"]).to.equal(team.orgId);
    const sessions = stripe.calls("POST", "/v1/checkout/sessions");
    expect(sessions).to.have.length(2);
    const customer = (await account())!.stripeCustomerId;
    for (const session of sessions) {
      expect(session.form).to.include({ mode: "subscription", client_reference_id: team.orgId, customer, "metadata[org_id]": team.orgId, "subscription_data[metadata][org_id]": team.orgId });
      expect(session.form.success_url).to.equal(`https://app.example.test/billing?org_id=${team.orgId}&checkout=success`);
      expect(session.form.cancel_url).to.equal(`https://app.example.test/billing?org_id=${team.orgId}&checkout=canceled`);
    }
    expect(sessions[0]!.form["line_items[0][price]"]).to.equal("price_pro");
    expect(sessions[1]!.form["line_items[0][price]"]).to.equal("price_starter");

    const { subscription } = await subscribe("pro");
    const row = (await account())!;
    expect(row).to.include({ stripeSubscriptionId: subscription, plan: "pro", status: "active", stripeCustomerId: customer });
    const summary = (await team.viewer.client.get(billingPath())).body;
    expect(summary.plan).to.deep.equal({ id: "pro", name: "Pro" });
    expect(summary.status).to.equal("active");
    expect(summary.limits).to.deep.equal({ monthly_active_users: PLANS.pro.limits.monthlyActiveUsers, rooms: PLANS.pro.limits.rooms });
    expect(summary.current_period.start).to.equal(row.currentPeriodStart!.toISOString());
    expect(summary.usage).to.deep.equal({ monthly_active_users: 0, rooms: 3 });
    // The webhook reached the edge's entitlements: Pro's 100 rooms apply at once.
    expect((await team.owner.client.post(rooms, { id: "d" })).status).to.equal(201);

    // A live subscription is changed in the portal, not bought twice.
    const twice = await team.owner.client.post(`${billingPath()}/checkout`, { plan: "business" });
    expect(twice.status).to.equal(409);
    expect(twice.body.error.code).to.equal("subscription_exists");
  });

  it("refuses plans that are not sold: Free, Enterprise, unknown", async () => {
    for (const plan of ["free", "enterprise", "platinum"]) {
      const refused = await team.owner.client.post(`${billingPath()}/checkout`, { plan });
      expect(refused.status, plan).to.equal(400);
      expect(refused.body.error.code, plan).to.equal("plan_not_available");
    }
    expect((await team.owner.client.post(`${billingPath()}/checkout`, {})).body.error.code).to.equal("validation_failed");
    expect(stripe.requests).to.deep.equal([]);
  });

  it("applies subscription updates: a plan change and a cancellation at period end", async () => {
    const start = now();
    const { customer, subscription } = await subscribe("starter", start);
    driver.set(subscription, customer, "active", "price_business", start, true);
    const updated = await deliver(server.httpUrl, subscriptionEvent("customer.subscription.updated", subscription, start + 5));
    expect(updated).to.deep.equal({ status: 200, body: { received: true, outcome: "applied" } });
    const summary = (await team.owner.client.get(billingPath())).body;
    expect(summary.plan.id).to.equal("business");
    expect(summary.cancel_at_period_end).to.equal(true);
    expect((await account())!.stateAt!.getTime()).to.equal((start + 5) * 1000);
  });

  it("marks a failed payment past due with a grace period, and clears it once paid", async () => {
    const start = now();
    const { customer, subscription } = await subscribe("pro", start);
    driver.set(subscription, customer, "past_due", "price_pro", start);
    expect((await deliver(server.httpUrl, invoiceEvent("invoice.payment_failed", customer, subscription, start + 10))).body.outcome).to.equal("applied");
    const failed = (await team.owner.client.get(billingPath())).body;
    expect(failed.status).to.equal("past_due");
    expect(failed.past_due_since).to.equal(new Date((start + 10) * 1000).toISOString());
    expect(failed.grace_ends_at).to.equal(new Date((start + 10) * 1000 + 7 * DAY).toISOString());
    expect(failed.plan.id).to.equal("pro");

    // A second failure keeps the first date: the grace runs from the first one.
    expect((await deliver(server.httpUrl, invoiceEvent("invoice.payment_failed", customer, subscription, start + 20))).body.outcome).to.equal("applied");
    expect((await account())!.pastDueSince!.getTime()).to.equal((start + 10) * 1000);

    clock.advance(8 * DAY);
    expect((await team.owner.client.get(billingPath())).body.plan.id).to.equal("free");

    driver.set(subscription, customer, "active", "price_pro", start);
    // (An endpoint on an older API version names the subscription on the invoice itself.)
    expect((await deliver(server.httpUrl, invoiceEvent("invoice.paid", customer, subscription, start + 30, true))).body.outcome).to.equal("applied");
    const paid = (await team.owner.client.get(billingPath())).body;
    expect(paid).to.include({ status: "active", past_due_since: null, grace_ends_at: null });
    expect(paid.plan.id).to.equal("pro");
  });

  it("goes back to no paid plan when the subscription is deleted", async () => {
    const start = now();
    const { customer, subscription } = await subscribe("pro", start);
    driver.set(subscription, customer, "canceled", "price_pro", start);
    expect((await deliver(server.httpUrl, subscriptionEvent("customer.subscription.deleted", subscription, start + 1))).body.outcome).to.equal("applied");
    expect(await account()).to.include({ plan: null, status: "canceled", currentPeriodEnd: null });
    const summary = (await team.owner.client.get(billingPath())).body;
    expect(summary.plan.id).to.equal("free");
    expect(summary.limits.rooms).to.equal(PLANS.free.limits.rooms);
    // A cancelled subscription leaves room for a new Checkout.
    expect((await team.owner.client.post(`${billingPath()}/checkout`, { plan: "starter" })).status).to.equal(200);
  });

  it("applies a replayed event once, also when both deliveries arrive at the same moment", async () => {
    const start = now();
    const { customer, subscription } = await subscribe("starter", start);
    const before = retrievals();
    const changed: string[] = [];
    server.app.billing.onAccountChanged = (orgId) => void changed.push(orgId);
    driver.set(subscription, customer, "active", "price_pro", start);
    const event = subscriptionEvent("customer.subscription.updated", subscription, start + 1);
    const outcomes = await Promise.all([deliver(server.httpUrl, event), deliver(server.httpUrl, event)]).finally(() => {
      server.app.billing.onAccountChanged = () => {};
    });
    // The entitlement hook hears of the change once, not of the duplicate.
    expect(changed).to.deep.equal([team.orgId]);
    expect(outcomes.map((o) => o.status)).to.deep.equal([200, 200]);
    expect(outcomes.map((o) => o.body.outcome).sort()).to.deep.equal(["applied", "duplicate"]);
    const replay = await deliver(server.httpUrl, event);
    expect(replay.body.outcome).to.equal("duplicate");
    expect(retrievals() - before).to.equal(1);
    expect(await server.app.db.models.StripeEvent.count({ where: { id: event.id } })).to.equal(1);
    expect((await account())!.plan).to.equal("pro");
  });

  it("answers 502 and records nothing when Stripe fails, so Stripe's retry applies the event", async () => {
    const start = now();
    const { customer } = await subscribe("starter", start);
    // The old subscription ended; a new one's event comes in, but Stripe does not answer for it yet.
    await server.app.db.models.BillingAccount.update({ status: "canceled" }, { where: { orgId: team.orgId } });
    const rows = await eventRows();
    const stranger = { ...stripe.subscriptionObject((await account())!.stripeSubscriptionId!), id: "sub_not_yet_known" };
    const event = signedEvent("customer.subscription.updated", stranger, { created: start + 1 });
    const failed = await deliver(server.httpUrl, event);
    expect(failed.status).to.equal(502);
    expect(failed.body.error.code).to.equal("stripe_error");
    expect(await eventRows()).to.equal(rows);
    driver.set("sub_not_yet_known", customer, "active", "price_business", start);
    expect((await deliver(server.httpUrl, event)).body.outcome).to.equal("applied");
    expect(await account()).to.include({ stripeSubscriptionId: "sub_not_yet_known", plan: "business" });
  });

  it("ignores an event older than the state it already holds", async () => {
    const start = now();
    const { customer, subscription } = await subscribe("starter", start);
    driver.set(subscription, customer, "active", "price_business", start);
    expect((await deliver(server.httpUrl, subscriptionEvent("customer.subscription.updated", subscription, start + 100))).body.outcome).to.equal("applied");
    const before = retrievals();
    driver.set(subscription, customer, "active", "price_pro", start);
    const late = await deliver(server.httpUrl, subscriptionEvent("customer.subscription.updated", subscription, start + 50));
    expect(late.body.outcome).to.equal("ignored");
    expect(retrievals()).to.equal(before);
    expect((await account())!.plan).to.equal("business");
    expect((await server.app.db.models.StripeEvent.findOne({ order: [["eventCreatedAt", "ASC"]], where: { type: "customer.subscription.updated" } }))!.outcome).to.equal("ignored");
  });

  it("loses no update when two events for one subscription are handled at once", async () => {
    const start = now();
    const { customer, subscription } = await subscribe("starter", start);
    // The first event's retrieval answers with Pro, slowly; meanwhile the subscription moves to
    // Business and a second event (same second, as Stripe often sends) arrives.
    const outcomes = await driver.raceUpdates(subscription, customer, start, start + 1, "price_pro", "price_business");
    expect(outcomes.map((o) => o.body.outcome)).to.deep.equal(["applied", "applied"]);
    // Had the second retrieved and committed while the first waited, the stale Pro would win.
    expect((await account())!.plan).to.equal("business");
  });

  it("refuses a missing, wrong or tampered signature with 400 and changes nothing", async () => {
    const start = now();
    const { subscription } = await subscribe("starter", start);
    const rows = await eventRows();
    const before = (await account())!.toJSON();
    const good = subscriptionEvent("customer.subscription.deleted", subscription, start + 1);
    const attempts = [
      { payload: good.payload, signature: null },
      { payload: good.payload, signature: signedEvent("x", {}, { secret: "whsec_someone_else" }).signature },
      { payload: good.payload, signature: signedEvent("customer.subscription.deleted", stripe.subscriptionObject(subscription), { secret: "whsec_someone_else", id: good.id }).signature },
      { payload: good.payload.replace('"active"', '"canceled"'), signature: good.signature },
    ];
    for (const attempt of attempts) {
      const refused = await deliver(server.httpUrl, attempt);
      expect(refused.status).to.equal(400);
      expect(refused.body.error.code).to.equal("invalid_signature");
    }
    expect(await eventRows()).to.equal(rows);
    expect((await account())!.toJSON()).to.deep.equal(before);
  });

  it("records events about no known customer or of other types as ignored", async () => {
    const stranger = { ...stripe.subscriptionObject((await subscribe("starter")).subscription), customer: "cus_unknown" };
    expect((await deliver(server.httpUrl, signedEvent("customer.subscription.updated", stranger))).body.outcome).to.equal("ignored");
    expect((await deliver(server.httpUrl, signedEvent("charge.succeeded", { id: "ch_1", object: "charge" }))).body.outcome).to.equal("ignored");
    expect((await account())!.plan).to.equal("starter");
  });

  it("opens the billing portal for the organisation's customer", async () => {
    const none = await team.owner.client.post(`${billingPath()}/portal`);
    expect(none.status).to.equal(409);
    expect(none.body.error.code).to.equal("no_billing_account");
    const { customer } = await subscribe("pro");
    const portal = await team.owner.client.post(`${billingPath()}/portal`);
    expect(portal.status).to.equal(200);
    expect(portal.body.url).to.match(/^https:\/\/billing\.stripe\.test\//);
    const [call] = stripe.calls("POST", "/v1/billing_portal/sessions");
    expect(call!.form).to.deep.include({ customer, return_url: `https://app.example.test/billing?org_id=${team.orgId}` });
  });

  it("lets Owners manage billing; Admins, Members, Viewers and API keys may only read it", async () => {
    for (const who of [team.admin, team.member, team.viewer, team.apiKey]) {
      for (const path of ["checkout", "portal"]) {
        const refused = await who.client.post(`${billingPath()}/${path}`, { plan: "pro" });
        expect(refused.status, path).to.equal(403);
      }
      expect((await who.client.get(billingPath())).status).to.equal(200);
    }
    expect(stripe.requests).to.deep.equal([]);
    const other = await createTeam(server.httpUrl, mailbox, "Other");
    expect((await other.owner.client.get(billingPath())).status).to.equal(404);
    expect((await other.owner.client.post(`${billingPath()}/checkout`, { plan: "pro" })).status).to.equal(404);
    expect((await other.apiKey.client.get(billingPath())).status).to.equal(404);
  });

  it("reports usage to the meter with one identifier per organisation and day", async () => {
    const billing = server.app.billing;
    const day = new Date("2026-12-04T10:00:00Z");
    expect(await billing.reportUsage(team.orgId, { monthlyActiveUsers: 5, at: day })).to.equal(false);
    const { customer } = await subscribe("pro");
    expect(await billing.reportUsage(team.orgId, { monthlyActiveUsers: 120, at: day })).to.equal(true);
    expect(await billing.reportUsage(team.orgId, { monthlyActiveUsers: 121, at: new Date("2026-12-04T23:00:00Z") })).to.equal(true);
    expect(await billing.reportUsage(team.orgId, { monthlyActiveUsers: 130, at: new Date("2026-12-05T01:00:00Z") })).to.equal(true);
    const sent = stripe.calls("POST", "/v1/billing/meter_events").map((r) => r.form);
    expect(sent.map((f) => f.identifier)).to.deep.equal([`${team.orgId}:2026-12-04`, `${team.orgId}:2026-12-04`, `${team.orgId}:2026-12-05`]);
    expect(sent[0]).to.include({ event_name: "syncforge_mau", "payload[stripe_customer_id]": customer, "payload[value]": "120", timestamp: String(day.getTime() / 1000) });
  });

  it("runs the daily report from the injected usage source, once a day", async () => {
    await subscribe("starter");
    const billing = server.app.billing;
    const previous = billing.usageOf;
    billing.usageOf = async (orgId) => (orgId === team.orgId ? { monthlyActiveUsers: 42, rooms: 2 } : null);
    try {
      await server.app.usageReporter!.tick();
      await server.app.usageReporter!.tick();
      const sent = stripe.calls("POST", "/v1/billing/meter_events");
      expect(sent).to.have.length(1);
      expect(sent[0]!.form["payload[value]"]).to.equal("42");
      expect((await team.owner.client.get(billingPath())).body.usage).to.deep.equal({ monthly_active_users: 42, rooms: 2 });
    } finally {
      billing.usageOf = previous;
    }
  });
});

describe("billing switched off (no STRIPE_SECRET_KEY)", function () {
  this.timeout(30_000);
  let mailbox: Mailbox;
  let stripe: FakeStripe;
  let server: TestServer;
  let team: Team;

  before(async () => {
    mailbox = await startMailbox();
    stripe = await startFakeStripe();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl, BCRYPT_ROUNDS: "4", AUTH_RATE_LIMIT: "100000", STRIPE_API_URL: stripe.url, STRIPE_PRICE_PRO: "price_pro" });
    team = await createTeam(server.httpUrl, mailbox);
  });
  after(async () => {
    await server.close();
    await stripe.close();
    await mailbox.close();
  });

  it("answers the summary with enabled: false, 404 billing_disabled elsewhere, and never calls Stripe", async () => {
    const summary = await team.owner.client.get(`/organizations/${team.orgId}/billing`);
    expect(summary.status).to.equal(200);
    expect(summary.body).to.include({ enabled: false, plan: null, status: "none" });
    expect(summary.body.limits).to.deep.equal({ monthly_active_users: null, rooms: null });
    for (const path of ["checkout", "portal"]) {
      const off = await team.owner.client.post(`/organizations/${team.orgId}/billing/${path}`, { plan: "pro" });
      expect(off.status, path).to.equal(404);
      expect(off.body.error.code, path).to.equal("billing_disabled");
    }
    const webhook = await deliver(server.httpUrl, signedEvent("customer.subscription.updated", { id: "sub_1", object: "subscription" }));
    expect(webhook.status).to.equal(404);
    expect(webhook.body.error.code).to.equal("billing_disabled");
    expect(server.app.usageReporter).to.equal(null);
    expect(stripe.requests).to.deep.equal([]);
  });
});
