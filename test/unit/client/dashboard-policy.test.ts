/**
 * The dashboard offers a button only to the roles the server's policy lets use it; its table is
 * restated in client/dashboard/src/policy.ts (the dashboard never imports the server). This test
 * holds the two together.
 */
import { expect } from "chai";
import { DASHBOARD_POLICY, can, manageableRoles } from "../../../client/dashboard/src/policy.ts";
import { MEMBER_POLICY, ORG_ROLES, canMember } from "../../../server/domain/orgs/policy.ts";

describe("the dashboard's policy table", () => {
  it("names, for each action it shows, the server's lowest role", () => {
    for (const [action, role] of Object.entries(DASHBOARD_POLICY)) {
      expect(MEMBER_POLICY[action as keyof typeof MEMBER_POLICY], action).to.equal(role);
    }
  });

  it("offers an action to exactly the roles the server allows", () => {
    for (const role of ORG_ROLES) {
      for (const action of Object.keys(DASHBOARD_POLICY) as Array<keyof typeof DASHBOARD_POLICY>) {
        expect(can(role, action), `${role} ${action}`).to.equal(canMember(role, action));
      }
    }
    expect(can(null, "rooms:write")).to.equal(false);
  });

  it("lets only an Owner touch the owner role, and a Member or Viewer no role", () => {
    expect(manageableRoles("owner")).to.include("owner");
    expect(manageableRoles("admin")).to.deep.equal(["admin", "member", "viewer"]);
    expect(manageableRoles("member")).to.deep.equal([]);
    expect(manageableRoles("viewer")).to.deep.equal([]);
  });
});
