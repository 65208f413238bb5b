import { DataTypes, Model, type Sequelize } from "sequelize";

/** An organisation's webhook endpoint (db/migrations/20261204030000-webhooks.ts). */
export class WebhookEndpoint extends Model {
  declare id: string;
  declare orgId: string;
  declare url: string;
  declare description: string | null;
  /** JSON array of event types. */
  declare events: string;
  declare enabled: boolean;
  declare disabledReason: string | null;
  declare secret: string;
  declare previousSecret: string | null;
  declare previousSecretExpiresAt: Date | null;
  declare failingSince: Date | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof WebhookEndpoint {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        url: { type: DataTypes.STRING(2048), allowNull: false },
        description: { type: DataTypes.STRING(512), allowNull: true },
        events: { type: DataTypes.TEXT, allowNull: false },
        enabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        disabledReason: { type: DataTypes.STRING(32), allowNull: true },
        secret: { type: DataTypes.STRING(128), allowNull: false },
        previousSecret: { type: DataTypes.STRING(128), allowNull: true },
        previousSecretExpiresAt: { type: DataTypes.DATE, allowNull: true },
        failingSince: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "webhook_endpoints", underscored: true },
    );
    return this;
  }
}
