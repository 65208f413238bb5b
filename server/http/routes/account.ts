/**
 * The signed-in account's settings (the dashboard's account page): its name, its password (the
 * current one is required; the other sessions end), and its sessions, listed and ended one by one.
 * Session-cookie only: they concern the person at the keyboard.
 */
import { Router, type RequestHandler } from "express";
import { z } from "zod";
import type { AccountService } from "../../domain/accounts/account-service.ts";
import { UnauthorizedError } from "../../errors.ts";
import { parseInput } from "../validate.ts";
import { actorOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { passwordSchema } from "./auth.ts";

const renameSchema = z.object({ name: z.string().trim().min(1).max(128) }).strict();
const passwordChangeSchema = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: passwordSchema }).strict();

export function accountRoutes({ accounts, auth, rateLimit }: { accounts: AccountService; auth: AuthMiddleware; rateLimit: RequestHandler }): Router {
  const router = Router();

  /** The signed-in user's id (requireUser has let only a session's user through). */
  const userIdOf = (res: Parameters<typeof actorOf>[0]): string => {
    const actor = actorOf(res);
    if (actor.kind !== "user") throw new UnauthorizedError();
    return actor.userId;
  };

  router.patch("/me", auth.requireUser, async (req, res) => {
    const { name } = parseInput(renameSchema, req.body);
    res.json({ user: await accounts.rename(userIdOf(res), name) });
  });

  router.post("/me/password", rateLimit, auth.requireUser, async (req, res) => {
    const { currentPassword, newPassword } = parseInput(passwordChangeSchema, req.body);
    await accounts.changePassword(userIdOf(res), currentPassword, newPassword, req.sessionID);
    res.status(204).end();
  });

  router.get("/me/sessions", auth.requireUser, async (req, res) => {
    res.json({ data: await accounts.listSessions(userIdOf(res), req.sessionID) });
  });

  router.delete("/me/sessions/:session_id", auth.requireUser, async (req, res) => {
    await accounts.endSession(userIdOf(res), String(req.params.session_id));
    res.status(204).end();
  });

  return router;
}
