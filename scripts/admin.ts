/**
 * npm run admin -- <command> — the operator's tool for plans (docs/billing.md "Operator CLI"),
 * against DATABASE_URL (and REDIS_URL, to tell running servers at once; without it they pick the
 * change up within a minute):
 *
 *   list-plans                                    the plans, their limits and features
 *   show-org <org_id>                             the organisation's effective plan, overrides, subscription
 *   set-plan <org_id> <plan> [--mau N] [--rooms N]  an operator plan (wins over billing), limits optional
 *   clear-override <org_id>                       back to the subscription (or no plan with billing off)
 *
 * Limits are non-negative integers or "unlimited"; left out, the plan's own apply (Enterprise: unlimited).
 * Exit codes: 0 done, 1 bad usage or unknown organisation/plan.
 */
import { parseArgs } from "node:util";
import { Redis as IORedis } from "ioredis";
import { loadConfig } from "../server/config.ts";
import { createDatabase } from "../db/index.ts";
import { migrate } from "../db/migrator.ts";
import { PLANS, PLAN_IDS, isPlanId } from "../server/domain/billing/plans.ts";
import { Entitlements } from "../server/domain/billing/entitlements.ts";
import { UNLIMITED, clearPlanOverride, setPlanOverride } from "../server/domain/billing/plan-overrides.ts";
import { createControlChannel } from "../server/realtime/control-events.ts";

const USAGE = `Usage: npm run admin -- <command>
  list-plans
  show-org <org_id>
  set-plan <org_id> <${PLAN_IDS.join("|")}> [--mau N|unlimited] [--rooms N|unlimited]
  clear-override <org_id>
`;

class UsageError extends Error {}


function parseLimit(name: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (value === "unlimited") return UNLIMITED;
  if (!/^\d{1,10}$/.test(value) || Number(value) > UNLIMITED) throw new UsageError(`--${name} must be a non-negative integer or "unlimited"`);
  return Number(value);
}

function showLimit(value: number | null): string {
  return value === null || value >= UNLIMITED ? "unlimited" : value.toLocaleString("en-US");
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { mau: { type: "string" }, rooms: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return;
  }
  if (command === "list-plans") {
    for (const plan of Object.values(PLANS)) {
      const price = plan.monthlyPriceUsd === null ? "by agreement" : `$${plan.monthlyPriceUsd}/month`;
      process.stdout.write(`${plan.id.padEnd(11)} ${plan.name.padEnd(11)} ${price.padEnd(13)} MAU ${showLimit(plan.limits.monthlyActiveUsers).padEnd(10)} rooms ${showLimit(plan.limits.rooms).padEnd(10)} ${plan.features.join(", ")}\n`);
    }
    return;
  }
  const orgId = args[0];
  if (!orgId || !["show-org", "set-plan", "clear-override"].includes(command)) throw new UsageError(USAGE);

  const config = loadConfig();
  const db = createDatabase(config.database);
  const redis = config.redis ? new IORedis(config.redis.url, { maxRetriesPerRequest: 2 }) : null;
  try {
    await migrate(db.sequelize);
    const org = await db.models.Organization.findByPk(orgId);
    if (!org) throw new UsageError(`No organization ${orgId}`);
    if (command === "set-plan") {
      const plan = args[1];
      if (!isPlanId(plan)) throw new UsageError(`Unknown plan ${plan ?? "(none)"}; one of ${PLAN_IDS.join(", ")}`);
      await setPlanOverride(db, orgId, { plan, monthlyActiveUsers: parseLimit("mau", values.mau), rooms: parseLimit("rooms", values.rooms) });
    } else if (command === "clear-override") {
      await clearPlanOverride(db, orgId);
    }
    if (command !== "show-org" && redis) {
      // Running servers drop their cached plan of this organisation now (control-events.ts).
      const channel = await createControlChannel({ redis, prefix: config.redis!.prefix, instanceId: "admin-cli", handle: () => {} });
      await channel.publish({ type: "entitlements_changed", orgId });
      await channel.close();
    }
    await show(db, orgId, config.stripe.secretKey !== null);
  } finally {
    redis?.disconnect();
    await db.close();
  }
}

async function show(db: ReturnType<typeof createDatabase>, orgId: string, billingEnabled: boolean): Promise<void> {
  const org = (await db.models.Organization.findByPk(orgId))!;
  const account = await db.models.BillingAccount.findByPk(orgId);
  const entitlement = await new Entitlements({ db, billingEnabled }).get(orgId);
  const lines = [
    `organization   ${org.id} (${org.name})`,
    `billing        ${billingEnabled ? "on" : "off"}`,
    `plan           ${entitlement.plan ? `${entitlement.plan.id} (${entitlement.plan.name})` : "none: no limits"} [${entitlement.source}]`,
    `mau limit      ${showLimit(entitlement.limits.monthlyActiveUsers)}`,
    `rooms limit    ${showLimit(entitlement.limits.rooms)}`,
    `features       ${[...entitlement.features].join(", ")}`,
    `override       ${org.planOverride ?? "none"} (mau ${org.mauLimitOverride === null ? "plan's" : showLimit(org.mauLimitOverride)}, rooms ${org.roomsLimitOverride === null ? "plan's" : showLimit(org.roomsLimitOverride)})`,
    `subscription   ${account ? `${account.plan ?? "none"} ${account.status}${account.pastDueSince ? ` since ${account.pastDueSince.toISOString()}` : ""}` : "none"}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof UsageError ? error.message : (error as Error).stack}\n`);
  process.exitCode = 1;
}
