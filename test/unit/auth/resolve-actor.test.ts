import { expect } from "chai";
import { AccessTokens, type AccessTokenClaims } from "../../../server/auth/access-token.ts";
import { createActorResolver, type ActorResolver } from "../../../server/auth/resolve-actor.ts";
import type { EndUserActor } from "../../../server/auth/actor.ts";
import { isRefusal, type Refusal } from "../../../server/auth/refusal.ts";
import { UnauthorizedError } from "../../../server/errors.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const SECRET = "unit-test-secret-unit-test-secret-0123";
const GOOD_KEY = `sk_${"a".repeat(43)}`;
const KEY = { id: "key-1", orgId: "org-1" };

const claims: AccessTokenClaims = {
  userId: "ada",
  orgId: "org-1",
  permissions: { "doc-*": ["room:read"], "doc-1": ["comments:write"] },
  userInfo: { name: "Ada" },
  issuer: { kind: "api_key", id: "key-1" },
};

/** What a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  const error = await rejectionOf(promise);
  expect(isRefusal(error), "a Refusal").to.equal(true);
  return error as Refusal;
}

async function appErrorOf(promise: Promise<unknown>): Promise<UnauthorizedError> {
  const error = await rejectionOf(promise);
  expect(error).to.be.instanceOf(UnauthorizedError);
  return error as UnauthorizedError;
}

describe("actor resolution (server/auth)", () => {
  const tokens = new AccessTokens(SECRET, 60);
  const secretsSeen: string[] = [];
  let actors: ActorResolver;

  beforeEach(() => {
    secretsSeen.length = 0;
    actors = createActorResolver({
      apiKeys: {
        authenticate: async (secret) => {
          secretsSeen.push(secret);
          return secret === GOOD_KEY ? KEY : null;
        },
      },
      tokens,
    });
  });

  describe("REST credentials", () => {
    it("turns a Bearer API key into an api_key actor of the key's organisation", async () => {
      const actor = await actors.fromHttp({ authorization: `Bearer ${GOOD_KEY}`, sessionUser: undefined });
      expect(actor).to.deep.equal({ kind: "api_key", apiKeyId: "key-1", orgId: "org-1" });
      expect(secretsSeen).to.deep.equal([GOOD_KEY]);
      expect(await actors.fromHttp({ authorization: `bearer   ${GOOD_KEY}`, sessionUser: undefined })).to.include({ kind: "api_key" });
    });

    it("turns the session's member into a user actor, and no credentials into no actor", async () => {
      const actor = await actors.fromHttp({ authorization: undefined, sessionUser: { id: "u-1", email: "ada@example.com" } });
      expect(actor).to.deep.equal({ kind: "user", userId: "u-1", email: "ada@example.com" });
      expect(await actors.fromHttp({ authorization: undefined, sessionUser: undefined })).to.equal(null);
      expect(secretsSeen).to.deep.equal([]);
    });

    it("refuses a bad, malformed or empty Authorization header with 401 invalid_api_key, even with a session", async () => {
      const session = { id: "u-1", email: "ada@example.com" };
      for (const authorization of [`Bearer sk_${"b".repeat(43)}`, `Basic ${GOOD_KEY}`, "Bearer", "", `Bearer ${GOOD_KEY} extra`]) {
        const error = await appErrorOf(actors.fromHttp({ authorization, sessionUser: session }));
        expect(error.code, authorization).to.equal("invalid_api_key");
        expect(error.status).to.equal(401);
        expect(error.message).to.equal("The API key is invalid, revoked or expired");
      }
      // Only a well-formed Bearer header reaches the key lookup.
      expect(secretsSeen).to.deep.equal([`sk_${"b".repeat(43)}`]);
    });
  });

  describe("access tokens on REST", () => {
    it("turns a Bearer access token into a token holder, never an API key actor, and refuses a forged one", async () => {
      const { token, expiresAt } = await tokens.sign(claims);
      const actor = await actors.fromHttp({ authorization: `Bearer ${token}`, sessionUser: undefined });
      expect(actor).to.deep.equal({ kind: "token_holder", userId: "ada", orgId: "org-1", permissions: claims.permissions, expiresAt: expiresAt.getTime(), issuer: { kind: "api_key", id: "key-1" } });
      const [head, body] = token.split(".");
      const error = await appErrorOf(actors.fromHttp({ authorization: `Bearer ${head}.${body}.forged`, sessionUser: undefined }));
      expect(error.code).to.equal("invalid_token");
      expect(error.status).to.equal(401);
      expect(secretsSeen).to.deep.equal([]);
    });
  });

  describe("access tokens on WebSockets", () => {
    it("turns a token for a granted room into an end-user actor of that room", async () => {
      const now = new Date();
      const { token, expiresAt } = await tokens.sign(claims, now);
      const actor = await actors.fromAccessToken(token, toDocumentName("org-1", "doc-1"));
      expect(actor).to.deep.include({
        kind: "end_user",
        userId: "ada",
        orgId: "org-1",
        roomId: "doc-1",
        userInfo: { name: "Ada" },
        tokenExpiresAt: expiresAt.getTime(),
        tokenIssuedAt: now.getTime(),
        issuer: { kind: "api_key", id: "key-1" },
      });
      expect(actor.permissions).to.have.members(["room:read", "comments:write"]);
      expect(actor.access).to.include({ canRead: true, canWrite: false, canWriteComments: true, readLevel: "full" });
      expect(actor.tokenId).to.be.a("string").and.not.empty;
    });

    it("refuses a missing, invalid or expired token with 4401 and the reason the client sees today", async () => {
      const name = toDocumentName("org-1", "doc-1");
      expect(await refusalOf(actors.fromAccessToken(undefined, name))).to.deep.equal({
        code: 4401,
        reason: "token_missing",
        message: "An access token is required",
      });
      expect(await refusalOf(actors.fromAccessToken("", name))).to.include({ code: 4401, reason: "token_missing" });
      expect(await refusalOf(actors.fromAccessToken("not.a.token", name))).to.deep.equal({
        code: 4401,
        reason: "invalid_token",
        message: "The access token is invalid or expired",
      });
      const foreign = await new AccessTokens("another-secret-another-secret-0123", 60).sign(claims);
      expect(await refusalOf(actors.fromAccessToken(foreign.token, name))).to.include({ code: 4401, reason: "invalid_token" });
      const old = await tokens.sign(claims, new Date(Date.now() - 3600_000));
      expect(await refusalOf(actors.fromAccessToken(old.token, name))).to.include({ code: 4401, reason: "token_expired" });
    });

    it("refuses with 4403 room_not_granted a room, an organisation or a name the token does not grant", async () => {
      const { token } = await tokens.sign(claims);
      for (const name of [toDocumentName("org-1", "other"), toDocumentName("org-2", "doc-1"), "doc-1", ""]) {
        expect(await refusalOf(actors.fromAccessToken(token, name)), JSON.stringify(name)).to.deep.equal({
          code: 4403,
          reason: "room_not_granted",
          message: "The token does not grant this room",
          // The token verified: who it names is known (the live log records the refusal under it).
          subject: { orgId: claims.orgId, userId: claims.userId },
        });
      }
    });

    describe("a refreshed token on a live connection", () => {
      let current: EndUserActor;
      beforeEach(async () => {
        current = await actors.fromAccessToken((await tokens.sign(claims)).token, toDocumentName("org-1", "doc-1"));
      });

      it("describes the same end user with the new token's expiry, permissions and issuer", async () => {
        const later = new Date(Date.now() + 30_000);
        const { token, expiresAt } = await tokens.sign({ ...claims, permissions: { "doc-1": ["room:write"] }, issuer: undefined }, later);
        const refreshed = await actors.refreshEndUser(current, token);
        expect(refreshed).to.deep.include({ kind: "end_user", userId: "ada", orgId: "org-1", roomId: "doc-1", issuer: undefined });
        expect(refreshed.tokenExpiresAt).to.equal(expiresAt.getTime());
        expect(refreshed.tokenIssuedAt).to.equal(later.getTime());
        expect(refreshed.permissions).to.deep.equal(["room:write"]);
        expect(refreshed.access.canWrite).to.equal(true);
        expect(refreshed.tokenId).not.to.equal(current.tokenId);
      });

      it("refuses another user or organisation with 4401 token_mismatch, a room no longer granted with 4403", async () => {
        for (const other of [{ userId: "bob" }, { orgId: "org-2" }]) {
          const { token } = await tokens.sign({ ...claims, ...other });
          expect(await refusalOf(actors.refreshEndUser(current, token))).to.deep.equal({
            code: 4401,
            reason: "token_mismatch",
            message: "A refreshed token must name the same user and organisation",
          });
        }
        const { token } = await tokens.sign({ ...claims, permissions: { "other-*": ["room:write"] } });
        expect(await refusalOf(actors.refreshEndUser(current, token))).to.include({ code: 4403, reason: "room_not_granted" });
        expect(await refusalOf(actors.refreshEndUser(current, "garbage"))).to.include({ code: 4401, reason: "invalid_token" });
      });
    });
  });
});
