/**
 * An organisation's Stripe subscription, as Stripe last told it (issue 19): one row per
 * organisation that ever started a checkout. Plans and their limits live in code
 * (server/domain/billing/plans.ts); this row only says which plan is paid for and in what state.
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("billing_accounts", {
    org_id: {
      type: DataTypes.STRING(64),
      primaryKey: true,
      references: { model: "organizations", key: "id" },
      onDelete: "CASCADE",
    },
    stripe_customer_id: { type: DataTypes.STRING(255), allowNull: true, unique: true },
    stripe_subscription_id: { type: DataTypes.STRING(255), allowNull: true },
    // A plan id of plans.ts that the subscription pays for (null: no subscription).
    plan: { type: DataTypes.STRING(32), allowNull: true },
    // Stripe's subscription status: active, trialing, past_due, unpaid, canceled, incomplete, … ; "none" before any.
    status: { type: DataTypes.STRING(32), allowNull: false, defaultValue: "none" },
    current_period_start: { type: DataTypes.DATE, allowNull: true },
    current_period_end: { type: DataTypes.DATE, allowNull: true },
    cancel_at_period_end: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    // When the subscription first went past_due (cleared when paid): the 7-day grace runs from here.
    past_due_since: { type: DataTypes.DATE, allowNull: true },
    // The Stripe event time of the last state applied: an older event delivered later is ignored.
    state_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("billing_accounts");
}
