/**
 * Team members' sessions with passport: the local strategy checks an email and password, the
 * session keeps only the user id, and every request whose session cookie names one gets back
 * `{ id, email }` as `req.user` (resolve-actor.ts turns it into a user Actor). The router only
 * mounts `initialize()` and `session()`; routes sign in and out through the helpers below.
 */
import type { NextFunction, Request, Response } from "express";
import passport from "passport";
import { Strategy as LocalStrategy } from "passport-local";
import type { AccountService, UserView } from "../domain/accounts/account-service.ts";

/** What a session restores on each request: enough to name the user actor. */
export interface SessionUser {
  id: string;
  email: string;
}

export type Passport = passport.Authenticator;

/** A passport instance of our own (not the module's shared singleton), wired to the accounts. */
export function createPassport(accounts: Pick<AccountService, "checkPassword" | "findUser">): Passport {
  const pp = new passport.Passport();
  pp.use(
    new LocalStrategy({ usernameField: "email", passwordField: "password", session: false }, (email, password, done) => {
      accounts.checkPassword(email, password).then((user) => done(null, user ?? false), done);
    }),
  );
  pp.serializeUser((user, done) => done(null, (user as SessionUser).id));
  pp.deserializeUser((id: string, done) => {
    accounts.findUser(id).then((user) => done(null, user ? { id: user.id, email: user.email } : false), done);
  });
  return pp;
}

/** The account an email and password (the request body) belong to, or null; starts no session. */
export function checkLogin(pp: Pick<Passport, "authenticate">, req: Request, res: Response, next: NextFunction): Promise<UserView | null> {
  return new Promise((resolve, reject) => {
    const verify = pp.authenticate("local", { session: false }, (error: unknown, found: UserView | false) => (error ? reject(error) : resolve(found || null)));
    verify(req, res, next);
  });
}

/** Start a session for a user: from now on the session cookie names them. */
export function startSession(req: Request, user: SessionUser): Promise<void> {
  return new Promise((resolve, reject) => req.login({ id: user.id, email: user.email }, (error) => (error ? reject(error) : resolve())));
}

/** End the request's session, if it has a signed-in user. */
export async function endSession(req: Request): Promise<void> {
  if (!req.user) return;
  await new Promise<void>((resolve, reject) => req.logout((error) => (error ? reject(error) : resolve())));
}

/** The member the session cookie named, as passport restored it. */
export function sessionUserOf(req: Request): SessionUser | undefined {
  return req.user as SessionUser | undefined;
}
