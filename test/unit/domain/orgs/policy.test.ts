import { expect } from "chai";
import {
  API_KEY_POLICY,
  MEMBER_POLICY,
  ORG_ACTIONS,
  canActAs,
  canAssignRole,
  canMember,
  canMemberGrant,
  roomPermissionsForRole,
} from "../../../../server/domain/orgs/policy.ts";
import { roomAccess, type RoomPermission } from "../../../../protocol/permissions.ts";

describe("org policy", () => {
  it("covers every action in both tables", () => {
    expect(Object.keys(MEMBER_POLICY).sort()).to.deep.equal([...ORG_ACTIONS].sort());
    expect(Object.keys(API_KEY_POLICY).sort()).to.deep.equal([...ORG_ACTIONS].sort());
  });

  it("lets a viewer read and never write", () => {
    const writes = ORG_ACTIONS.filter((a) => !/:read$|:join$/.test(a));
    for (const action of writes) expect(canMember("viewer", action), action).to.equal(false);
    expect(canMember("viewer", "rooms:read")).to.equal(true);
    expect(roomPermissionsForRole("viewer")).to.deep.equal(["room:read", "comments:read"]);
    expect(roomPermissionsForRole("member")).to.deep.equal(["room:write", "comments:write"]);
  });

  it("keeps members and keys away from API keys", () => {
    expect(API_KEY_POLICY["members:manage"]).to.equal(false);
    expect(API_KEY_POLICY["api_keys:manage"]).to.equal(false);
    expect(API_KEY_POLICY["access_tokens:mint"]).to.equal(true);
  });

  it("lets API keys, Owners and Admins act as any end user, everyone else only as themselves", () => {
    const user = (role: "owner" | "admin" | "member" | "viewer") => ({ actor: { kind: "user" as const, userId: "u1", email: "u1@example.test" }, role });
    expect(canActAs({ actor: { kind: "api_key", apiKeyId: "k" }, role: null }, "anyone")).to.equal(true);
    for (const role of ["owner", "admin"] as const) expect(canActAs(user(role), "anyone"), role).to.equal(true);
    for (const role of ["member", "viewer"] as const) {
      expect(canActAs(user(role), "anyone"), role).to.equal(false);
      expect(canActAs(user(role), "u1"), role).to.equal(true);
      expect(canActAs(user(role), "u1\u0000"), role).to.equal(false);
    }
    expect(API_KEY_POLICY["notifications:send"]).to.equal(true);
    expect(canMember("member", "notifications:send")).to.equal(false);
  });

  it("leaves managing billing to Owners; every member and API keys read it", () => {
    expect(["owner", "admin", "member", "viewer"].map((role) => canMember(role as "owner", "billing:manage"))).to.deep.equal([true, false, false, false]);
    expect(canMember("viewer", "billing:read")).to.equal(true);
    expect(API_KEY_POLICY["billing:manage"]).to.equal(false);
    expect(API_KEY_POLICY["billing:read"]).to.equal(true);
  });

  it("leaves the owner role to Owners", () => {
    expect(canAssignRole("owner", "owner", "viewer")).to.equal(true);
    expect(canAssignRole("admin", "member", "admin")).to.equal(true);
    expect(canAssignRole("admin", "owner", "admin")).to.equal(false);
    expect(canAssignRole("admin", null, "owner")).to.equal(false);
    expect(canAssignRole("admin", "owner", null)).to.equal(false);
    expect(canAssignRole("member", "viewer", "member")).to.equal(false);
  });

  it("lets a token grant only what its issuing member may grant now", () => {
    const access = (...perms: RoomPermission[]) => roomAccess(new Set(perms));
    // Owners and Admins mint any token, for anyone.
    expect(canMemberGrant("owner", "me", "someone", access("room:write"))).to.equal(true);
    expect(canMemberGrant("admin", "me", "someone", access("room:write"))).to.equal(true);
    // A Member or Viewer only for itself (the room-token endpoint)...
    expect(canMemberGrant("member", "me", "someone", access("room:read"))).to.equal(false);
    expect(canMemberGrant("member", "me", "me", access("room:write"))).to.equal(true);
    // ...and only with its role's rights.
    expect(canMemberGrant("viewer", "me", "me", access("room:read", "comments:read"))).to.equal(true);
    expect(canMemberGrant("viewer", "me", "me", access("room:write"))).to.equal(false);
    expect(canMemberGrant("viewer", "me", "me", access("comments:write"))).to.equal(false);
  });
});
