/**
 * Outbound webhook endpoints of an organisation and their delivery log (issue 22, docs/webhooks.md).
 * Owners and Admins, and the org's API keys (policy.ts: webhooks:read, webhooks:manage). The secret
 * is in the create and roll-secret answers only.
 */
import { Router } from "express";
import { z } from "zod";
import type { WebhookService } from "../../domain/webhooks/webhook-service.ts";
import { WEBHOOK_EVENTS } from "../../domain/webhooks/webhook-events.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { parseInput } from "../validate.ts";

const eventList = z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(WEBHOOK_EVENTS.length).transform((events) => [...new Set(events)]);
const url = z.string().trim().min(1).max(2048);
const createSchema = z.object({ url, events: eventList, description: z.string().trim().max(512).nullable().optional() });
const updateSchema = z
  .object({ url: url.optional(), events: eventList.optional(), description: z.string().trim().max(512).nullable().optional(), enabled: z.boolean().optional() })
  .refine((v) => Object.values(v).some((x) => x !== undefined), "give at least one of url, events, description, enabled");
const testSchema = z.object({ type: z.enum(WEBHOOK_EVENTS).optional() });
const rangeSchema = z.object({ since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }).optional(), include: z.enum(["failed", "all"]).default("failed") });
const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().max(512).optional(),
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
});

export function webhookRoutes({ webhooks, auth }: { webhooks: WebhookService; auth: AuthMiddleware }): Router {
  const router = Router();
  const base = "/organizations/:org_id/webhooks";
  const read = auth.requireOrgAccess("webhooks:read");
  const manage = auth.requireOrgAccess("webhooks:manage");
  const id = (params: Record<string, unknown>) => String(params.id);

  router.post(base, manage, async (req, res) => {
    const input = parseInput(createSchema, req.body);
    res.status(201).json({ webhook: await webhooks.create(orgOf(res).id, input) });
  });

  router.get(base, read, async (_req, res) => {
    res.json({ data: await webhooks.list(orgOf(res).id) });
  });

  router.get(`${base}/:id`, read, async (req, res) => {
    res.json({ webhook: await webhooks.get(orgOf(res).id, id(req.params)) });
  });

  router.patch(`${base}/:id`, manage, async (req, res) => {
    res.json({ webhook: await webhooks.update(orgOf(res).id, id(req.params), parseInput(updateSchema, req.body)) });
  });

  router.post(`${base}/:id/disable`, manage, async (req, res) => {
    res.json({ webhook: await webhooks.update(orgOf(res).id, id(req.params), { enabled: false }) });
  });

  router.delete(`${base}/:id`, manage, async (req, res) => {
    await webhooks.delete(orgOf(res).id, id(req.params));
    res.status(204).end();
  });

  router.post(`${base}/:id/roll-secret`, manage, async (req, res) => {
    res.json({ webhook: await webhooks.rollSecret(orgOf(res).id, id(req.params)) });
  });

  router.post(`${base}/:id/test`, manage, async (req, res) => {
    const { type } = parseInput(testSchema, req.body);
    res.status(202).json({ delivery: await webhooks.sendTest(orgOf(res).id, id(req.params), type) });
  });

  router.get(`${base}/:id/deliveries`, read, async (req, res) => {
    res.json(await webhooks.deliveries(orgOf(res).id, id(req.params), parseInput(listSchema, req.query, "Query")));
  });

  router.get(`${base}/:id/deliveries/:delivery_id`, read, async (req, res) => {
    res.json({ delivery: await webhooks.delivery(orgOf(res).id, id(req.params), String(req.params.delivery_id)) });
  });

  router.post(`${base}/:id/deliveries/:delivery_id/replay`, manage, async (req, res) => {
    res.status(202).json({ delivery: await webhooks.replay(orgOf(res).id, id(req.params), String(req.params.delivery_id)) });
  });

  router.post(`${base}/:id/replay`, manage, async (req, res) => {
    const { since, until, include } = parseInput(rangeSchema, req.body);
    res.status(202).json(await webhooks.replayRange(orgOf(res).id, id(req.params), { since: new Date(since), until: until ? new Date(until) : new Date(), include }));
  });

  return router;
}
