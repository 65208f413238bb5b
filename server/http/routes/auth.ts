/**
 * Team accounts over JSON: register, login (passport-local, session cookie), logout, me, email
 * verification and password reset. Every endpoint that takes a password or sends mail is rate
 * limited per IP; none answers differently for an email that has an account.
 */
import { Router, type RequestHandler } from "express";
import { z } from "zod";
import type { AccountService } from "../../domain/accounts/account-service.ts";
import { checkLogin, endSession, startSession, type Passport } from "../../auth/passport.ts";
import { ForbiddenError, UnauthorizedError } from "../../errors.ts";
import { parseInput } from "../validate.ts";
import { actorOf, type AuthMiddleware } from "../middleware/authenticate.ts";

export const emailSchema = z.email().max(254);
// bcrypt reads at most 72 bytes; a longer password would be silently truncated.
export const passwordSchema = z
  .string()
  .min(8, "must be at least 8 characters")
  .refine((p) => Buffer.byteLength(p, "utf8") <= 72, "must be at most 72 bytes");

const registerSchema = z.object({ email: emailSchema, password: passwordSchema, name: z.string().trim().min(1).max(128) });
const loginSchema = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) });
const tokenSchema = z.object({ token: z.string().min(1).max(256) });
const forgotSchema = z.object({ email: emailSchema });
const resetSchema = z.object({ token: z.string().min(1).max(256), password: passwordSchema });

export interface AuthRoutesOptions {
  accounts: AccountService;
  passport: Pick<Passport, "authenticate">;
  auth: AuthMiddleware;
  rateLimit: RequestHandler;
}

export function authRoutes({ accounts, passport, auth, rateLimit }: AuthRoutesOptions): Router {
  const router = Router();

  // 202 and one message whether or not the email is taken: the account (or, for a taken email, a
  // notice to its owner) is written and mailed after the answer.
  router.post("/auth/register", rateLimit, async (req, res) => {
    const input = parseInput(registerSchema, req.body);
    await accounts.register(input);
    res.status(202).json({ message: "Check your inbox: a link to finish signing up is on its way" });
  });

  router.post("/auth/login", rateLimit, async (req, res, next) => {
    parseInput(loginSchema, req.body);
    const user = await checkLogin(passport, req, res, next);
    if (!user) throw new UnauthorizedError("The email or password is wrong", "invalid_credentials");
    if (!user.emailVerified) throw new ForbiddenError("Verify your email before signing in", "email_not_verified");
    await startSession(req, user);
    res.json({ user });
  });

  router.post("/auth/logout", async (req, res) => {
    await endSession(req);
    res.status(204).end();
  });

  router.get("/me", auth.requireUser, async (_req, res) => {
    const actor = actorOf(res);
    const user = actor.kind === "user" ? await accounts.findUser(actor.userId) : null;
    if (!user) throw new UnauthorizedError();
    res.json({ user });
  });

  router.post("/auth/verify-email", rateLimit, async (req, res) => {
    const { token } = parseInput(tokenSchema, req.body);
    const user = await accounts.verifyEmail(token);
    res.json({ user });
  });

  router.post("/auth/resend-verification", rateLimit, async (req, res) => {
    const { email } = parseInput(forgotSchema, req.body);
    await accounts.resendVerification(email);
    res.status(202).json({ message: "If an unverified account uses this email, a new link is on its way" });
  });

  router.post("/auth/forgot-password", rateLimit, async (req, res) => {
    const { email } = parseInput(forgotSchema, req.body);
    await accounts.forgotPassword(email);
    res.status(202).json({ message: "If an account uses this email, a reset link is on its way" });
  });

  router.post("/auth/reset-password", rateLimit, async (req, res) => {
    const { token, password } = parseInput(resetSchema, req.body);
    const user = await accounts.resetPassword(token, password);
    res.json({ user });
  });

  return router;
}
