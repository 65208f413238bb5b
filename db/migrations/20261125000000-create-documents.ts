/**
 * Room documents: a compacted snapshot per document plus an append-only log of updates written
 * before they are applied and broadcast (see docs/architecture.md, "Durability").
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("room_documents", {
    name: { type: DataTypes.STRING(400), primaryKey: true },
    org_id: { type: DataTypes.STRING(64), allowNull: false },
    room_id: { type: DataTypes.STRING(256), allowNull: false },
    state: { type: DataTypes.BLOB, allowNull: false },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("room_documents", ["org_id", "room_id"], { unique: true });
  await qi.createTable("document_updates", {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    document_name: { type: DataTypes.STRING(400), allowNull: false },
    data: { type: DataTypes.BLOB, allowNull: false },
    writer: { type: DataTypes.STRING(64), allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("document_updates", ["document_name", "id"]);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("document_updates");
  await qi.dropTable("room_documents");
}
