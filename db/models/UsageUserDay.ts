import { DataTypes, Model, type Sequelize } from "sequelize";

/** An end user connected to one of the organisation's rooms on this UTC day (db/migrations/20261204020000-usage.ts). */
export class UsageUserDay extends Model {
  declare orgId: string;
  declare day: string;
  declare userId: string;

  static initModel(sequelize: Sequelize): typeof UsageUserDay {
    this.init(
      {
        orgId: { type: DataTypes.STRING(64), primaryKey: true },
        day: { type: DataTypes.STRING(10), primaryKey: true },
        userId: { type: DataTypes.STRING(128), primaryKey: true },
      },
      { sequelize, tableName: "usage_user_days", underscored: true, timestamps: false },
    );
    return this;
  }
}
