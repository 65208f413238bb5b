import { DataTypes, Model, type Sequelize } from "sequelize";

/** An organisation's Stripe customer and subscription state (db/migrations/20261204000000-billing-accounts.ts). */
export class BillingAccount extends Model {
  declare orgId: string;
  declare stripeCustomerId: string | null;
  declare stripeSubscriptionId: string | null;
  declare plan: string | null;
  declare status: string;
  declare currentPeriodStart: Date | null;
  declare currentPeriodEnd: Date | null;
  declare cancelAtPeriodEnd: boolean;
  declare pastDueSince: Date | null;
  declare stateAt: Date | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof BillingAccount {
    this.init(
      {
        orgId: { type: DataTypes.STRING(64), primaryKey: true },
        stripeCustomerId: { type: DataTypes.STRING(255), allowNull: true },
        stripeSubscriptionId: { type: DataTypes.STRING(255), allowNull: true },
        plan: { type: DataTypes.STRING(32), allowNull: true },
        status: { type: DataTypes.STRING(32), allowNull: false, defaultValue: "none" },
        currentPeriodStart: { type: DataTypes.DATE, allowNull: true },
        currentPeriodEnd: { type: DataTypes.DATE, allowNull: true },
        cancelAtPeriodEnd: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        pastDueSince: { type: DataTypes.DATE, allowNull: true },
        stateAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "billing_accounts", underscored: true },
    );
    return this;
  }
}
