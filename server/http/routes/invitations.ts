/**
 * Invitations over JSON. Owners and Admins list and withdraw an organisation's pending ones
 * (they are created by POST …/members, see orgs.ts). The holder of a link previews it, accepts it
 * signed in with the invited email, or signs up through it. Tokens travel in bodies, never in
 * URLs, so they stay out of access logs.
 */
import { Router, type RequestHandler } from "express";
import { z } from "zod";
import type { InvitationService } from "../../domain/orgs/invitation-service.ts";
import { startSession } from "../../auth/passport.ts";
import { parseInput } from "../validate.ts";
import { actorOf, orgAccessOf, orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { passwordSchema } from "./auth.ts";

const tokenSchema = z.object({ token: z.string().min(1).max(256) });
const signUpSchema = z.object({ token: z.string().min(1).max(256), name: z.string().trim().min(1).max(128), password: passwordSchema });

export interface InvitationRoutesOptions {
  invitations: InvitationService;
  auth: AuthMiddleware;
  rateLimit: RequestHandler;
}

export function invitationRoutes({ invitations, auth, rateLimit }: InvitationRoutesOptions): Router {
  const router = Router();

  router.get("/organizations/:org_id/invitations", auth.requireOrgAccess("members:manage"), async (_req, res) => {
    res.json({ data: await invitations.listPending(orgOf(res).id) });
  });

  router.delete("/organizations/:org_id/invitations/:invitation_id", auth.requireOrgAccess("members:manage"), async (req, res) => {
    // members:manage is member-only (API_KEY_POLICY), so a role is always present here.
    await invitations.revoke(orgOf(res).id, String(req.params.invitation_id), orgAccessOf(res).role ?? "viewer");
    res.status(204).end();
  });

  router.post("/invitations/preview", rateLimit, async (req, res) => {
    const { token } = parseInput(tokenSchema, req.body);
    res.json({ invitation: await invitations.preview(token) });
  });

  router.post("/invitations/accept", rateLimit, auth.requireUser, async (req, res) => {
    const { token } = parseInput(tokenSchema, req.body);
    const actor = actorOf(res);
    if (actor.kind !== "user") return;
    res.json(await invitations.accept(token, { userId: actor.userId, email: actor.email }));
  });

  // Turning an invitation down from the mail's link (issue 20, the dashboard's invitation page).
  router.post("/invitations/decline", rateLimit, async (req, res) => {
    const { token } = parseInput(tokenSchema, req.body);
    await invitations.decline(token);
    res.status(204).end();
  });

  router.post("/invitations/register", rateLimit, async (req, res) => {
    const { token, name, password } = parseInput(signUpSchema, req.body);
    const { user, organization, member } = await invitations.acceptWithSignUp(token, { name, password });
    await startSession(req, user);
    res.status(201).json({ user, organization, member });
  });

  return router;
}
