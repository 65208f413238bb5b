import { DataTypes, Model, type Sequelize } from "sequelize";

/** One event for one endpoint: the webhook outbox (db/migrations/20261204030000-webhooks.ts). */
export class WebhookDelivery extends Model {
  declare id: string;
  declare endpointId: string;
  declare orgId: string;
  declare eventType: string;
  declare payload: string;
  declare dedupeKey: string | null;
  declare status: "pending" | "succeeded" | "failed";
  declare attempts: number;
  declare nextAttemptAt: Date | null;
  declare lockedUntil: Date | null;
  declare lastAttemptAt: Date | null;
  declare responseStatus: number | null;
  declare latencyMs: number | null;
  declare lastError: string | null;
  declare deliveredAt: Date | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof WebhookDelivery {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        endpointId: { type: DataTypes.STRING(64), allowNull: false },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        eventType: { type: DataTypes.STRING(64), allowNull: false },
        payload: { type: DataTypes.TEXT, allowNull: false },
        dedupeKey: { type: DataTypes.STRING(512), allowNull: true },
        status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "pending" },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        nextAttemptAt: { type: DataTypes.DATE, allowNull: true },
        lockedUntil: { type: DataTypes.DATE, allowNull: true },
        lastAttemptAt: { type: DataTypes.DATE, allowNull: true },
        responseStatus: { type: DataTypes.INTEGER, allowNull: true },
        latencyMs: { type: DataTypes.INTEGER, allowNull: true },
        lastError: { type: DataTypes.STRING(512), allowNull: true },
        deliveredAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "webhook_deliveries", underscored: true },
    );
    return this;
  }
}
