/**
 * Operator overrides of an organisation's plan (docs/billing.md "Operator CLI"): written only by
 * `npm run admin` (scripts/admin.ts), never through the API. A plan override wins over the Stripe
 * subscription and applies with billing off too; limit overrides replace the effective plan's
 * limits (null: the plan's own). Callers invalidate the entitlement cache afterwards.
 */
import type { Database } from "../../../db/index.ts";
import { NotFoundError } from "../../errors.ts";
import type { PlanId } from "./plans.ts";

/** A limit override meaning "no limit" (the column's null already means "the plan's own"). */
export const UNLIMITED = 2_147_483_647;

export interface PlanOverride {
  plan: PlanId | null;
  monthlyActiveUsers: number | null;
  rooms: number | null;
}

export async function setPlanOverride(db: Database, orgId: string, override: PlanOverride): Promise<void> {
  const [count] = await db.models.Organization.update(
    { planOverride: override.plan, mauLimitOverride: override.monthlyActiveUsers, roomsLimitOverride: override.rooms },
    { where: { id: orgId } },
  );
  if (count === 0) throw new NotFoundError("Organization not found", "org_not_found");
}

export async function clearPlanOverride(db: Database, orgId: string): Promise<void> {
  await setPlanOverride(db, orgId, { plan: null, monthlyActiveUsers: null, rooms: null });
}
