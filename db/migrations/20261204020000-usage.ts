/**
 * Plans enforcement and usage metering (issue 19, docs/billing.md).
 *
 * organizations: three nullable operator overrides, set only with `npm run admin` (never through
 * the API). plan_override wins over the Stripe subscription (and applies with billing off too);
 * mau_limit_override / rooms_limit_override replace that plan's limits (null: the plan's own).
 * The older plan_type, max_rooms and max_monthly_connections columns stay in the table but are no
 * longer read: members could write them through PATCH, so nothing they hold is trusted.
 *
 * usage_user_days: one row per end user per organisation per UTC day they connected; the monthly
 * active users of a month are the distinct user ids of its days.
 * usage_hours: per organisation, per UTC hour, per server process (instance_id): that process's
 * peak concurrent connections, rooms with a connection, document messages, comment writes and
 * notifications, and its connections at its last flush. Reports add the processes up.
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addColumn("organizations", "plan_override", { type: DataTypes.STRING(32), allowNull: true });
  await qi.addColumn("organizations", "mau_limit_override", { type: DataTypes.INTEGER, allowNull: true });
  await qi.addColumn("organizations", "rooms_limit_override", { type: DataTypes.INTEGER, allowNull: true });
  await qi.createTable("usage_user_days", {
    org_id: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    // YYYY-MM-DD (UTC): compares as text on both databases.
    day: { type: DataTypes.STRING(10), allowNull: false, primaryKey: true },
    user_id: { type: DataTypes.STRING(128), allowNull: false, primaryKey: true },
  });
  await qi.createTable("usage_hours", {
    org_id: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    hour: { type: DataTypes.DATE, allowNull: false, primaryKey: true },
    instance_id: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    peak_connections: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    connections: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    active_rooms: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    messages: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
    comments: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    notifications: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("usage_hours");
  await qi.dropTable("usage_user_days");
  await qi.removeColumn("organizations", "rooms_limit_override");
  await qi.removeColumn("organizations", "mau_limit_override");
  await qi.removeColumn("organizations", "plan_override");
}
