/**
 * Organisations and members. The creator of an organisation is its Owner; listing shows only the
 * caller's organisations; adding a member by email invites the address, with the same answer
 * whether or not it has an account (invitation-service.ts).
 */
import { Router } from "express";
import { z } from "zod";
import type { OrgService } from "../../domain/orgs/org-service.ts";
import type { InvitationService } from "../../domain/orgs/invitation-service.ts";
import { ORG_ROLES, type OrgRole } from "../../domain/orgs/policy.ts";
import { parseInput } from "../validate.ts";
import { ForbiddenError } from "../../errors.ts";
import { actorOf, orgAccessOf, orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { emailSchema } from "./auth.ts";

const createSchema = z.object({ name: z.string().trim().min(1).max(128) });
/** The plan and its limits come from the billing subscription or an operator (docs/billing.md), never from members. */
const PLAN_FIELDS = ["plan_type", "max_rooms", "max_monthly_connections", "plan"] as const;
const updateSchema = z
  .object({
    name: z.string().trim().min(1).max(128).optional(),
    // Recognised only to be refused with 403 plan_not_writable (below), after the rest validates.
    ...Object.fromEntries(PLAN_FIELDS.map((field) => [field, z.unknown().optional()])),
  })
  .strict();
const roleSchema = z.enum(ORG_ROLES);
const addMemberSchema = z.object({ email: emailSchema, role: roleSchema });
const changeRoleSchema = z.object({ role: roleSchema });

export function orgRoutes({ orgs, invitations, auth }: { orgs: OrgService; invitations: InvitationService; auth: AuthMiddleware }): Router {
  const router = Router();

  router.post("/organizations", auth.requireUser, async (req, res) => {
    const { name } = parseInput(createSchema, req.body);
    const actor = actorOf(res);
    if (actor.kind !== "user") return;
    res.status(201).json({ organization: await orgs.create(actor.userId, name) });
  });

  router.get("/organizations", auth.requireActor, async (_req, res) => {
    const actor = actorOf(res);
    if (actor.kind === "api_key") {
      // An API key sees its own organisation only.
      const org = await orgs.find(actor.orgId);
      res.json({ data: org ? [{ ...org, role: null }] : [] });
      return;
    }
    res.json({ data: await orgs.listForUser(actor.userId) });
  });

  router.get("/organizations/:org_id", auth.requireOrgAccess("org:read"), (_req, res) => {
    res.json({ organization: { ...orgOf(res), role: orgAccessOf(res).role } });
  });

  router.patch("/organizations/:org_id", auth.requireOrgAccess("org:update"), async (req, res) => {
    const patch = parseInput(updateSchema, req.body) as { name?: string } & Record<string, unknown>;
    const planFields = PLAN_FIELDS.filter((field) => patch[field] !== undefined);
    if (planFields.length > 0) {
      throw new ForbiddenError(`${planFields.join(", ")}: the plan and its limits are set by the billing subscription or an operator, not through the API`, "plan_not_writable");
    }
    const org = await orgs.update(orgOf(res).id, { name: patch.name });
    res.json({ organization: { ...org, role: orgAccessOf(res).role } });
  });

  router.get("/organizations/:org_id/members", auth.requireOrgAccess("members:read"), async (_req, res) => {
    res.json({ data: await orgs.listMembers(orgOf(res).id) });
  });

  router.post("/organizations/:org_id/members", auth.requireOrgAccess("members:manage"), async (req, res) => {
    const { email, role } = parseInput(addMemberSchema, req.body);
    const actor = actorOf(res);
    if (actor.kind !== "user") return;
    // 202 with a pending invitation, whether or not the email has an account.
    res.status(202).json({ invitation: await invitations.invite(orgOf(res).id, email, role, { userId: actor.userId, role: actorRole(res) }) });
  });

  router.patch("/organizations/:org_id/members/:user_id", auth.requireOrgAccess("members:manage"), async (req, res) => {
    const { role } = parseInput(changeRoleSchema, req.body);
    res.json({ member: await orgs.changeRole(orgOf(res).id, String(req.params.user_id), role, actorRole(res)) });
  });

  router.delete("/organizations/:org_id/members/:user_id", auth.requireOrgAccess("members:manage"), async (req, res) => {
    await orgs.removeMember(orgOf(res).id, String(req.params.user_id), actorRole(res));
    res.status(204).end();
  });

  return router;
}

/** members:manage is member-only (API_KEY_POLICY), so a role is always present here. */
function actorRole(res: Parameters<typeof orgAccessOf>[0]): OrgRole {
  return orgAccessOf(res).role ?? "viewer";
}
