import { expect } from "chai";
import { SignJWT } from "jose";
import { AccessTokens, peekTokenOrg, type AccessTokenClaims } from "../../../server/auth/access-token.ts";
import { permissionsForRoom, roomAccess, type RoomPermission } from "../../../protocol/permissions.ts";
import { UnauthorizedError } from "../../../server/errors.ts";

const SECRET = "unit-test-secret-unit-test-secret-0123";
const claims: AccessTokenClaims = {
  userId: "user-1",
  orgId: "org-1",
  permissions: { "room-*": ["room:write"], exact: ["room:read"] },
  userInfo: { name: "Ada" },
};

async function rejection(promise: Promise<unknown>): Promise<UnauthorizedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(UnauthorizedError);
    return error as UnauthorizedError;
  }
  throw new Error("expected a rejection");
}

describe("access tokens", () => {
  const tokens = new AccessTokens(SECRET, 60);

  it("verifies what it signed", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const { token, expiresAt } = await tokens.sign(claims, now);
    expect(expiresAt.toISOString()).to.equal("2026-01-01T00:01:00.000Z");
    const verified = await tokens.verify(token, now);
    expect(verified.userId).to.equal("user-1");
    expect(verified.orgId).to.equal("org-1");
    expect(verified.permissions).to.deep.equal(claims.permissions);
    expect(verified.userInfo).to.deep.equal({ name: "Ada" });
    expect(verified.tokenId).to.be.a("string").and.not.empty;
  });

  it("signs only end-user ids of 1 to 128 characters without control characters", async () => {
    for (const userId of ["", "u".repeat(129), "a\u0000b", "a\nb", "a\u007fb"]) {
      const error = await tokens.sign({ ...claims, userId }).then(() => null, (e: { code?: string }) => e);
      expect(error?.code, JSON.stringify(userId)).to.equal("invalid_user_id");
    }
    expect((await tokens.sign({ ...claims, userId: "u".repeat(128) })).token).to.be.a("string");
  });

  it("expires after its TTL, by the injected clock", async () => {
    const issued = new Date("2026-01-01T00:00:00Z");
    const { token } = await tokens.sign(claims, issued);
    await tokens.verify(token, new Date(issued.getTime() + 59_000));
    const error = await rejection(tokens.verify(token, new Date(issued.getTime() + 61_000)));
    expect(error.code).to.equal("token_expired");
  });

  it("refuses tokens signed with another secret, tampered with, or not tokens at all", async () => {
    const { token } = await new AccessTokens("another-secret-another-secret-another", 60).sign(claims);
    expect((await rejection(tokens.verify(token))).code).to.equal("invalid_token");
    const [h, p, s] = (await tokens.sign(claims)).token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), org: "org-2" })).toString("base64url");
    expect((await rejection(tokens.verify(`${h}.${forged}.${s}`))).code).to.equal("invalid_token");
    expect((await rejection(tokens.verify("garbage"))).code).to.equal("invalid_token");
  });

  it("refuses a correctly signed token whose claims are malformed", async () => {
    const key = new TextEncoder().encode(`access-token:${SECRET}`);
    const token = await new SignJWT({ org: "org-1", perms: { "a/b": ["room:write"] } })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("u")
      .setJti("j")
      .setIssuedAt()
      .setExpirationTime("1m")
      .setAudience("syncforge:room")
      .sign(key);
    expect((await rejection(tokens.verify(token))).code).to.equal("invalid_token");
  });

  it("peeks at the organisation without trusting it, and only when it can name a document", async () => {
    const { token } = await tokens.sign(claims);
    expect(peekTokenOrg(token)).to.equal("org-1");
    const { token: odd } = await tokens.sign({ ...claims, orgId: "has/slash" });
    expect(peekTokenOrg(odd)).to.equal(null);
    expect(peekTokenOrg("no-dots")).to.equal(null);
    expect(peekTokenOrg("a.!!!.c")).to.equal(null);
  });

  it("matches exact room ids and prefix patterns, adding permissions up", () => {
    const perms = { "room-*": ["room:read"], "room-1": ["room:write"], "*": ["comments:read"] } as const;
    const p = (room: string) => [...permissionsForRoom(perms as never, room)].sort();
    expect(p("room-1")).to.deep.equal(["comments:read", "room:read", "room:write"]);
    expect(p("room-2")).to.deep.equal(["comments:read", "room:read"]);
    expect(p("room")).to.deep.equal(["comments:read"]);
    expect([...permissionsForRoom({ exact: ["room:write"] }, "exact-not")]).to.deep.equal([]);
  });

  it("derives what a connection may do from its permissions", () => {
    expect(roomAccess(new Set(["room:write"]))).to.include({ canRead: true, canWrite: true, canWriteComments: true });
    expect(roomAccess(new Set(["room:read"]))).to.include({ canRead: true, canWrite: false, canWritePresence: true, canWriteComments: false });
    expect(roomAccess(new Set(["comments:read"]))).to.include({ canRead: false, canWrite: false, canReadComments: true });
  });

  it("names the read level the socket edges enforce: full, comments or presence", () => {
    const level = (...perms: RoomPermission[]) => roomAccess(new Set(perms)).readLevel;
    expect(level("room:write")).to.equal("full");
    expect(level("room:read")).to.equal("full");
    expect(level("room:read", "room:presence:write")).to.equal("full");
    expect(level("comments:read")).to.equal("comments");
    expect(level("comments:write")).to.equal("comments");
    expect(level("comments:write", "room:presence:write")).to.equal("comments");
    expect(level("room:presence:write")).to.equal("presence");
  });
});
