import { DataTypes, Model, type Sequelize } from "sequelize";

/** One server process's usage counts for an organisation in one UTC hour (db/migrations/20261204020000-usage.ts). */
export class UsageHour extends Model {
  declare orgId: string;
  declare hour: Date;
  declare instanceId: string;
  declare peakConnections: number;
  declare connections: number;
  declare activeRooms: number;
  declare messages: number;
  declare comments: number;
  declare notifications: number;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof UsageHour {
    this.init(
      {
        orgId: { type: DataTypes.STRING(64), primaryKey: true },
        hour: { type: DataTypes.DATE, primaryKey: true },
        instanceId: { type: DataTypes.STRING(64), primaryKey: true },
        peakConnections: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        connections: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        activeRooms: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        messages: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
        comments: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        notifications: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      },
      { sequelize, tableName: "usage_hours", underscored: true, createdAt: false },
    );
    return this;
  }
}
