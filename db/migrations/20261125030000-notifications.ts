/**
 * Comment notifications (a per-user inbox per organisation), per-user notification settings, and
 * the per-room activity feed. End-user ids are the plain strings of access tokens.
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("notifications", {
    id: { type: DataTypes.STRING(40), primaryKey: true },
    org_id: { type: DataTypes.STRING(64), allowNull: false },
    user_id: { type: DataTypes.STRING(128), allowNull: false },
    kind: { type: DataTypes.STRING(64), allowNull: false },
    room_id: { type: DataTypes.STRING(256), allowNull: true },
    thread_id: { type: DataTypes.STRING(128), allowNull: true },
    comment_id: { type: DataTypes.STRING(128), allowNull: true },
    actor_id: { type: DataTypes.STRING(128), allowNull: true },
    data: { type: DataTypes.JSON, allowNull: false },
    read_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("notifications", ["org_id", "user_id", "created_at", "id"]);
  await qi.addIndex("notifications", ["org_id", "user_id", "read_at"]);
  await qi.createTable("notification_settings", {
    org_id: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    user_id: { type: DataTypes.STRING(128), allowNull: false, primaryKey: true },
    email: { type: DataTypes.STRING(320), allowNull: true },
    channels: { type: DataTypes.JSON, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.createTable("room_activities", {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    org_id: { type: DataTypes.STRING(64), allowNull: false },
    room_id: { type: DataTypes.STRING(256), allowNull: false },
    kind: { type: DataTypes.STRING(64), allowNull: false },
    actor_id: { type: DataTypes.STRING(128), allowNull: true },
    thread_id: { type: DataTypes.STRING(128), allowNull: true },
    comment_id: { type: DataTypes.STRING(128), allowNull: true },
    data: { type: DataTypes.JSON, allowNull: false },
    count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    // Rows that must exist once (first join, one edit row per user per window) carry a key.
    dedupe_key: { type: DataTypes.STRING(300), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("room_activities", ["org_id", "room_id", "created_at", "id"]);
  await qi.addIndex("room_activities", ["org_id", "room_id", "dedupe_key"], { unique: true, name: "room_activities_dedupe" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("room_activities");
  await qi.dropTable("notification_settings");
  await qi.dropTable("notifications");
}
