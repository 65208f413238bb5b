/**
 * Billing routes (issue 19; docs/billing.md):
 *   GET  /organizations/:org_id/billing           plan in effect, subscription state, limits, usage (billing:read)
 *   POST /organizations/:org_id/billing/checkout  {plan} → {url} of a Stripe Checkout Session (billing:manage: Owners)
 *   POST /organizations/:org_id/billing/portal    → {url} of a Stripe billing-portal session (billing:manage)
 *   POST /billing/stripe-webhook                  Stripe's events, signature-checked over the raw body
 * With billing off, GET answers `enabled: false` and the others 404 `billing_disabled`.
 */
import express, { Router } from "express";
import { z } from "zod";
import type { BillingService } from "../../domain/billing/billing-service.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { parseInput } from "../validate.ts";

const checkoutSchema = z.object({ plan: z.string().min(1).max(32) });

/** The organisation's billing routes, on the /api router (sessions, API keys, JSON bodies). */
export function billingRoutes({ billing, auth }: { billing: BillingService; auth: AuthMiddleware }): Router {
  const router = Router();
  const base = "/organizations/:org_id/billing";

  router.get(base, auth.requireOrgAccess("billing:read"), async (_req, res) => {
    res.json(await billing.summary(orgOf(res).id));
  });

  router.post(`${base}/checkout`, auth.requireOrgAccess("billing:manage"), async (req, res) => {
    const { plan } = parseInput(checkoutSchema, req.body);
    res.json(await billing.startCheckout(orgOf(res), plan));
  });

  router.post(`${base}/portal`, auth.requireOrgAccess("billing:manage"), async (_req, res) => {
    res.json(await billing.openPortal(orgOf(res).id));
  });

  return router;
}

/**
 * The webhook endpoint, mounted before the app's JSON parser: Stripe signs the exact bytes it sent,
 * so the body must reach the check unparsed. 200 for an event applied, ignored or already handled;
 * 400 for a bad or missing signature (nothing changed); 500 (Stripe retries) when applying failed.
 */
export function stripeWebhookRoutes({ billing }: { billing: BillingService }): Router {
  const router = Router();
  router.post("/api/billing/stripe-webhook", express.raw({ type: () => true, limit: "1mb" }), async (req, res) => {
    const payload = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const outcome = await billing.receiveWebhook(payload, req.get("stripe-signature"));
    res.json({ received: true, outcome });
  });
  return router;
}
