/**
 * Tombstones of deleted rooms: when each room id was last deleted. An access token minted before
 * that moment can no longer open (and so re-create) the room; see server/domain/rooms.
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("room_tombstones", {
    org_id: {
      type: DataTypes.STRING(64),
      allowNull: false,
      primaryKey: true,
      references: { model: "organizations", key: "id" },
      onDelete: "CASCADE",
    },
    room_id: { type: DataTypes.STRING(256), allowNull: false, primaryKey: true },
    deleted_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("room_tombstones", ["deleted_at"]);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("room_tombstones");
}
