import { DataTypes, Model, type Sequelize } from "sequelize";

/** Per end user: the address for email notifications and which kinds go to which channel. */
export class NotificationSetting extends Model {
  declare orgId: string;
  declare userId: string;
  declare email: string | null;
  /** kind → { inApp?: boolean, email?: boolean }; missing entries use the defaults. */
  declare channels: Record<string, { inApp?: boolean; email?: boolean }>;

  static initModel(sequelize: Sequelize): typeof NotificationSetting {
    this.init(
      {
        orgId: { type: DataTypes.STRING(64), primaryKey: true },
        userId: { type: DataTypes.STRING(128), primaryKey: true },
        email: { type: DataTypes.STRING(320), allowNull: true },
        channels: { type: DataTypes.JSON, allowNull: false },
      },
      { sequelize, tableName: "notification_settings", underscored: true },
    );
    return this;
  }
}
