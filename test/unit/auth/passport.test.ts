import { expect } from "chai";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { checkLogin, createPassport, sessionUserOf } from "../../../server/auth/passport.ts";
import { createActorResolver } from "../../../server/auth/resolve-actor.ts";
import type { UserView } from "../../../server/domain/accounts/account-service.ts";

const ADA: UserView = { id: "u-1", email: "ada@example.com", name: "Ada", emailVerified: true, createdAt: "2026-01-01T00:00:00.000Z" };

/** The accounts a passport is wired to: Ada, whose password is "correct horse". */
const accounts = {
  checkPassword: async (email: string, password: string) => (email === ADA.email && password === "correct horse" ? ADA : null),
  findUser: async (id: string) => (id === ADA.id ? ADA : null),
};

/** The parts of a request passport reads: the body (login) and the loaded session (express-session). */
function fakeRequest(fields: { body?: unknown; session?: { passport?: { user?: string } } }): Request {
  return { headers: {}, query: {}, ...fields } as unknown as Request;
}

/** Run Express middlewares in order, as the router would. */
async function run(req: Request, ...handlers: RequestHandler[]): Promise<void> {
  for (const handler of handlers) {
    await new Promise<void>((resolve, reject) => {
      void handler(req, {} as Response, ((error?: unknown) => (error ? reject(error) : resolve())) as NextFunction);
    });
  }
}

describe("sessions and password login (server/auth/passport.ts)", () => {
  const pp = createPassport(accounts);
  const actors = createActorResolver({ apiKeys: { authenticate: async () => null }, tokens: { verify: () => Promise.reject(new Error("unused")) } });

  it("restores the member a session names, which resolves to a user actor", async () => {
    const req = fakeRequest({ session: { passport: { user: ADA.id } } });
    await run(req, pp.initialize(), pp.session());
    expect(sessionUserOf(req)).to.deep.equal({ id: ADA.id, email: ADA.email });
    expect(await actors.fromHttp({ authorization: undefined, sessionUser: sessionUserOf(req) })).to.deep.equal({
      kind: "user",
      userId: ADA.id,
      email: ADA.email,
    });
  });

  it("forgets a session whose account is gone: no user, no actor", async () => {
    const req = fakeRequest({ session: { passport: { user: "deleted" } } });
    await run(req, pp.initialize(), pp.session());
    expect(sessionUserOf(req)).to.equal(undefined);
    expect((req.session as { passport?: unknown }).passport).to.deep.equal({});
    expect(await actors.fromHttp({ authorization: undefined, sessionUser: sessionUserOf(req) })).to.equal(null);
  });

  it("checks an email and password with the local strategy, and never tells which was wrong", async () => {
    const login = (email: string, password: string) => checkLogin(pp, fakeRequest({ body: { email, password } }), {} as Response, () => undefined);
    expect(await login(ADA.email, "correct horse")).to.deep.equal(ADA);
    expect(await login(ADA.email, "wrong")).to.equal(null);
    expect(await login("nobody@example.com", "correct horse")).to.equal(null);
  });
});
