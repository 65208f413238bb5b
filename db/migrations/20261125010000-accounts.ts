/**
 * Accounts and tenancy: users, organisations, memberships (roles), API keys, rooms, single-use
 * email tokens and dashboard sessions. Ids are UUIDs generated in JS and stored as strings, so a
 * guessed or malformed id in a URL is simply not found on both PostgreSQL and SQLite.
 */
import { DataTypes, type QueryInterface } from "sequelize";

const id = { type: DataTypes.STRING(64), primaryKey: true };
const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};
const ref = (table: string) => ({
  type: DataTypes.STRING(64),
  allowNull: false,
  references: { model: table, key: "id" },
  onDelete: "CASCADE",
});

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("users", {
    id,
    email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
    name: { type: DataTypes.STRING(128), allowNull: false },
    password_hash: { type: DataTypes.STRING(100), allowNull: false },
    email_verified_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.createTable("organizations", {
    id,
    name: { type: DataTypes.STRING(128), allowNull: false },
    plan_type: { type: DataTypes.STRING(32), allowNull: false, defaultValue: "free" },
    max_rooms: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 100 },
    max_monthly_connections: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1000 },
    ...timestamps,
  });
  await qi.createTable("memberships", {
    id,
    org_id: ref("organizations"),
    user_id: ref("users"),
    role: { type: DataTypes.STRING(16), allowNull: false },
    ...timestamps,
  });
  await qi.addIndex("memberships", ["org_id", "user_id"], { unique: true });
  await qi.addIndex("memberships", ["user_id"]);
  await qi.createTable("api_keys", {
    id,
    org_id: ref("organizations"),
    name: { type: DataTypes.STRING(128), allowNull: false },
    prefix: { type: DataTypes.STRING(16), allowNull: false },
    secret_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    previous_secret_hash: { type: DataTypes.STRING(64), allowNull: true },
    previous_expires_at: { type: DataTypes.DATE, allowNull: true },
    created_by: { type: DataTypes.STRING(64), allowNull: true },
    last_used_at: { type: DataTypes.DATE, allowNull: true },
    rotated_at: { type: DataTypes.DATE, allowNull: true },
    revoked_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("api_keys", ["org_id", "created_at"]);
  await qi.addIndex("api_keys", ["previous_secret_hash"]);
  await qi.createTable("rooms", {
    id,
    org_id: ref("organizations"),
    room_id: { type: DataTypes.STRING(256), allowNull: false },
    name: { type: DataTypes.STRING(256), allowNull: true },
    type: { type: DataTypes.STRING(32), allowNull: false, defaultValue: "yjs" },
    metadata: { type: DataTypes.JSON, allowNull: false },
    max_participants: { type: DataTypes.INTEGER, allowNull: true },
    default_access: { type: DataTypes.JSON, allowNull: false },
    ...timestamps,
  });
  await qi.addIndex("rooms", ["org_id", "room_id"], { unique: true });
  await qi.createTable("email_tokens", {
    id,
    user_id: ref("users"),
    purpose: { type: DataTypes.STRING(32), allowNull: false },
    token_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    used_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("email_tokens", ["user_id", "purpose"]);
  await qi.createTable("sessions", {
    sid: { type: DataTypes.STRING(64), primaryKey: true },
    user_id: { type: DataTypes.STRING(64), allowNull: true },
    data: { type: DataTypes.TEXT, allowNull: false },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    ...timestamps,
  });
  await qi.addIndex("sessions", ["expires_at"]);
  await qi.addIndex("sessions", ["user_id"]);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("sessions");
  await qi.dropTable("email_tokens");
  await qi.dropTable("rooms");
  await qi.dropTable("api_keys");
  await qi.dropTable("memberships");
  await qi.dropTable("organizations");
  await qi.dropTable("users");
}
