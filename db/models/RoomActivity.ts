import { DataTypes, Model, type Sequelize } from "sequelize";

/** One entry of a room's activity feed; document edits are one row per user per window. */
export class RoomActivity extends Model {
  declare id: number;
  declare orgId: string;
  declare roomId: string;
  declare kind: string;
  declare actorId: string | null;
  declare threadId: string | null;
  declare commentId: string | null;
  declare data: Record<string, unknown>;
  declare count: number;
  declare dedupeKey: string | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof RoomActivity {
    this.init(
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        roomId: { type: DataTypes.STRING(256), allowNull: false },
        kind: { type: DataTypes.STRING(64), allowNull: false },
        actorId: { type: DataTypes.STRING(128), allowNull: true },
        threadId: { type: DataTypes.STRING(128), allowNull: true },
        commentId: { type: DataTypes.STRING(128), allowNull: true },
        data: { type: DataTypes.JSON, allowNull: false },
        count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
        dedupeKey: { type: DataTypes.STRING(300), allowNull: true },
      },
      { sequelize, tableName: "room_activities", underscored: true },
    );
    return this;
  }
}
