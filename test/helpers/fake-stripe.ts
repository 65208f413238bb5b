/**
 * A local stand-in for the Stripe API (STRIPE_API_URL points the SDK here): it answers the
 * endpoints SyncForge calls — customers, Checkout Sessions, billing-portal sessions, subscription
 * retrieval and meter events — records every request, and keeps the subscriptions tests set.
 * Webhook events are signed the way Stripe signs them, with the SDK's generateTestHeaderString.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";
import type { Database } from "../../db/index.ts";

export const FAKE_STRIPE_KEY = "sk_test_syncforge_fake";
export const FAKE_WEBHOOK_SECRET = "whsec_syncforge_fake_secret";

export interface RecordedRequest {
  method: string;
  path: string;
  /** The form body, flat: `metadata[org_id]`, `line_items[0][price]`. */
  form: Record<string, string>;
  idempotencyKey: string | null;
}

export interface FakeSubscription {
  id: string;
  customer: string;
  status: string;
  price: string;
  periodStart: number;
  periodEnd: number;
  cancelAtPeriodEnd?: boolean;
  metadata?: Record<string, string>;
}

export interface FakeStripe {
  url: string;
  requests: RecordedRequest[];
  /** Requests to `path` (a prefix), in arrival order. */
  calls(method: string, pathPrefix: string): RecordedRequest[];
  setSubscription(subscription: FakeSubscription): void;
  /** The subscription as the API answers it. */
  subscriptionObject(id: string): Record<string, unknown>;
  /**
   * Hold the next subscription retrieval: its answer is taken when it arrives and sent only on
   * release(), as a slow Stripe would.
   */
  holdNextRetrieval(): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const requests: RecordedRequest[] = [];
  const subscriptions = new Map<string, FakeSubscription>();
  let counter = 0;
  let hold: { arrived: () => void; released: Promise<void> } | null = null;

  const subscriptionObject = (id: string): Record<string, unknown> => {
    const s = subscriptions.get(id);
    if (!s) throw new Error(`no fake subscription ${id}`);
    return {
      id: s.id,
      object: "subscription",
      customer: s.customer,
      status: s.status,
      cancel_at_period_end: s.cancelAtPeriodEnd ?? false,
      created: s.periodStart,
      metadata: s.metadata ?? {},
      items: {
        object: "list",
        data: [{ id: `si_${s.id}`, object: "subscription_item", price: { id: s.price, object: "price" }, current_period_start: s.periodStart, current_period_end: s.periodEnd, quantity: 1 }],
      },
    };
  };

  const answer = (method: string, path: string, form: Record<string, string>): [number, unknown] => {
    const id = () => `${++counter}${Date.now().toString(36)}`;
    if (method === "POST" && path === "/v1/customers") {
      return [200, { id: `cus_${id()}`, object: "customer", name: form.name ?? null, metadata: pick(form, "metadata") }];
    }
    if (method === "POST" && path === "/v1/checkout/sessions") {
      const sid = `cs_test_${id()}`;
      return [200, { id: sid, object: "checkout.session", mode: form.mode, customer: form.customer, client_reference_id: form.client_reference_id, metadata: pick(form, "metadata"), subscription: null, url: `https://checkout.stripe.test/c/pay/${sid}` }];
    }
    if (method === "POST" && path === "/v1/billing_portal/sessions") {
      const sid = `bps_${id()}`;
      return [200, { id: sid, object: "billing_portal.session", customer: form.customer, return_url: form.return_url, url: `https://billing.stripe.test/p/session/${sid}` }];
    }
    const sub = /^\/v1\/subscriptions\/([^/]+)$/.exec(path);
    if (method === "GET" && sub) {
      const found = subscriptions.has(sub[1]!);
      return found ? [200, subscriptionObject(sub[1]!)] : [404, { error: { type: "invalid_request_error", code: "resource_missing", message: `No such subscription: '${sub[1]}'` } }];
    }
    if (method === "POST" && path === "/v1/billing/meter_events") {
      return [200, { object: "billing.meter_event", created: Math.floor(Date.now() / 1000), event_name: form.event_name, identifier: form.identifier, livemode: false, payload: pick(form, "payload"), timestamp: Number(form.timestamp) }];
    }
    return [404, { error: { type: "invalid_request_error", message: `fake Stripe has no ${method} ${path}` } }];
  };

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const form = Object.fromEntries(new URLSearchParams(req.method === "GET" ? url.search : body));
      const recorded = { method: req.method ?? "GET", path: url.pathname, form, idempotencyKey: (req.headers["idempotency-key"] as string | undefined) ?? null };
      requests.push(recorded);
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json", "request-id": `req_${counter}` });
        res.end(JSON.stringify(payload));
      };
      if (req.headers.authorization !== `Bearer ${FAKE_STRIPE_KEY}`) return send(401, { error: { type: "invalid_request_error", message: "Invalid API Key provided" } });
      let result: [number, unknown];
      try {
        result = answer(recorded.method, recorded.path, form);
      } catch (error) {
        result = [500, { error: { type: "api_error", message: (error as Error).message } }];
      }
      if (hold && recorded.method === "GET" && recorded.path.startsWith("/v1/subscriptions/")) {
        const held = hold;
        hold = null;
        held.arrived();
        await held.released;
      }
      send(...result);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: (method, pathPrefix) => requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)),
    setSubscription: (subscription) => void subscriptions.set(subscription.id, subscription),
    subscriptionObject,
    holdNextRetrieval() {
      let arrived!: () => void;
      let release!: () => void;
      const arrivedPromise = new Promise<void>((resolve) => (arrived = resolve));
      hold = { arrived, released: new Promise<void>((resolve) => (release = resolve)) };
      return { arrived: arrivedPromise, release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The `prefix[key]` entries of a flat form, as an object. */
function pick(form: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    const match = new RegExp(`^${prefix}\\[([^\\]]+)\\]$`).exec(key);
    if (match) out[match[1]!] = value;
  }
  return out;
}

let eventCounter = 0;

/** A Stripe event body and its Stripe-Signature header, signed with the fake webhook secret. */
export function signedEvent(type: string, object: Record<string, unknown>, options: { id?: string; created?: number; secret?: string } = {}): { id: string; payload: string; signature: string } {
  const id = options.id ?? `evt_${++eventCounter}_${Date.now().toString(36)}`;
  const payload = JSON.stringify({
    id,
    object: "event",
    api_version: Stripe.API_VERSION,
    created: options.created ?? Math.floor(Date.now() / 1000),
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? FAKE_WEBHOOK_SECRET });
  return { id, payload, signature };
}

/** POST an event to the server's webhook endpoint as Stripe does. */
export async function deliver(httpUrl: string, event: { payload: string; signature: string | null }): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (event.signature !== null) headers["stripe-signature"] = event.signature;
  const response = await fetch(`${httpUrl}/api/billing/stripe-webhook`, { method: "POST", headers, body: event.payload });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The server variables that turn billing on against `stripe`. */
export function stripeEnv(stripe: FakeStripe): Record<string, string> {
  return {
    STRIPE_SECRET_KEY: FAKE_STRIPE_KEY,
    STRIPE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET,
    STRIPE_API_URL: stripe.url,
    STRIPE_PRICE_STARTER: "price_starter",
    STRIPE_PRICE_PRO: "price_pro",
    STRIPE_PRICE_BUSINESS: "price_business",
  };
}

let subscriptionCounter = 0;

/**
 * Drives one organisation's subscription the way Stripe would: Checkout as its Owner, then the
 * signed events Stripe sends, with the subscription's state kept in the fake.
 */
export class SubscriptionDriver {
  readonly stripe: FakeStripe;
  readonly httpUrl: string;
  readonly orgId: string;
  private readonly owner: { post(path: string, body?: unknown): Promise<{ status: number; body: any }> };
  private readonly db: Database;

  constructor(options: { stripe: FakeStripe; server: { httpUrl: string; app: { db: Database } }; orgId: string; owner: SubscriptionDriver["owner"] }) {
    this.stripe = options.stripe;
    this.httpUrl = options.server.httpUrl;
    this.db = options.server.app.db;
    this.orgId = options.orgId;
    this.owner = options.owner;
  }

  /** The organisation's billing_accounts row. */
  account() {
    return this.db.models.BillingAccount.findByPk(this.orgId);
  }

  private async customerOf(): Promise<string> {
    const customer = (await this.account())?.stripeCustomerId;
    if (!customer) throw new Error("no Stripe customer after checkout");
    return customer;
  }

  /**
   * Two customer.subscription.updated events of the same second at once: the first's retrieval
   * answers `stalePrice` and is held while the subscription moves to `freshPrice` and the second
   * event arrives, then released. Without turns the stale state would be written last.
   */
  async raceUpdates(subscription: string, customer: string, start: number, created: number, stalePrice: string, freshPrice: string) {
    this.set(subscription, customer, "active", stalePrice, start);
    const held = this.stripe.holdNextRetrieval();
    const first = deliver(this.httpUrl, this.subscriptionEvent("customer.subscription.updated", subscription, created));
    await held.arrived;
    this.set(subscription, customer, "active", freshPrice, start);
    const second = deliver(this.httpUrl, this.subscriptionEvent("customer.subscription.updated", subscription, created));
    await new Promise((resolve) => setTimeout(resolve, 300));
    held.release();
    return Promise.all([first, second]);
  }

  /** Checkout, then checkout.session.completed and customer.subscription.created for an active subscription. */
  async subscribe(plan: "starter" | "pro" | "business", created = Math.floor(Date.now() / 1000)): Promise<{ customer: string; subscription: string }> {
    const checkout = await this.owner.post(`/organizations/${this.orgId}/billing/checkout`, { plan });
    if (checkout.status !== 200) throw new Error(`checkout failed: ${JSON.stringify(checkout.body)}`);
    const customer = await this.customerOf();
    const subscription = `sub_${++subscriptionCounter}_${Date.now()}`;
    this.set(subscription, customer, "active", `price_${plan}`, created);
    const session = { id: `cs_${subscription}`, object: "checkout.session", mode: "subscription", client_reference_id: this.orgId, customer, subscription, metadata: { org_id: this.orgId } };
    for (const event of [signedEvent("checkout.session.completed", session, { created }), this.subscriptionEvent("customer.subscription.created", subscription, created)]) {
      const delivered = await deliver(this.httpUrl, event);
      if (delivered.status !== 200) throw new Error(`webhook failed: ${JSON.stringify(delivered.body)}`);
    }
    return { customer, subscription };
  }

  /** Set the subscription's state in the fake (a 30-day period from `start`). */
  set(subscription: string, customer: string, status: string, price: string, start: number, cancelAtPeriodEnd = false): void {
    this.stripe.setSubscription({ id: subscription, customer, status, price, periodStart: start, periodEnd: start + 30 * 86400, cancelAtPeriodEnd });
  }

  subscriptionEvent(type: string, subscription: string, created: number) {
    return signedEvent(type, this.stripe.subscriptionObject(subscription), { created });
  }

  /** `legacy`: the shape of endpoints on API versions before 2025-03-31 (`invoice.subscription`). */
  invoiceEvent(type: string, customer: string, subscription: string, created: number, legacy = false) {
    const parent = { type: "subscription_details", subscription_details: { subscription, metadata: {} } };
    const invoice = { id: `in_${created}`, object: "invoice", customer, ...(legacy ? { subscription } : { parent }) };
    return signedEvent(type, invoice, { created });
  }
}
