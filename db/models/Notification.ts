import { DataTypes, Model, type Sequelize } from "sequelize";

/** One inbox notification for an end user of an organisation. */
export class Notification extends Model {
  declare id: string;
  declare orgId: string;
  declare userId: string;
  declare kind: string;
  declare roomId: string | null;
  declare threadId: string | null;
  declare commentId: string | null;
  declare actorId: string | null;
  declare data: Record<string, unknown>;
  declare readAt: Date | null;
  declare createdAt: Date;

  static initModel(sequelize: Sequelize): typeof Notification {
    this.init(
      {
        id: { type: DataTypes.STRING(40), primaryKey: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        userId: { type: DataTypes.STRING(128), allowNull: false },
        kind: { type: DataTypes.STRING(64), allowNull: false },
        roomId: { type: DataTypes.STRING(256), allowNull: true },
        threadId: { type: DataTypes.STRING(128), allowNull: true },
        commentId: { type: DataTypes.STRING(128), allowNull: true },
        actorId: { type: DataTypes.STRING(128), allowNull: true },
        data: { type: DataTypes.JSON, allowNull: false },
        readAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "notifications", underscored: true, updatedAt: false },
    );
    return this;
  }
}
