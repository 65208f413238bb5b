import { DataTypes, Model, type Sequelize } from "sequelize";

/** A Stripe webhook event already handled (db/migrations/20261204010000-stripe-events.ts). */
export class StripeEvent extends Model {
  declare id: string;
  declare type: string;
  declare orgId: string | null;
  declare outcome: "applied" | "ignored";
  declare eventCreatedAt: Date;
  declare receivedAt: Date;
  declare processedAt: Date;

  static initModel(sequelize: Sequelize): typeof StripeEvent {
    this.init(
      {
        id: { type: DataTypes.STRING(255), primaryKey: true },
        type: { type: DataTypes.STRING(128), allowNull: false },
        orgId: { type: DataTypes.STRING(64), allowNull: true },
        outcome: { type: DataTypes.STRING(16), allowNull: false },
        eventCreatedAt: { type: DataTypes.DATE, allowNull: false },
        receivedAt: { type: DataTypes.DATE, allowNull: false },
        processedAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: "stripe_events", underscored: true, timestamps: false },
    );
    return this;
  }
}
