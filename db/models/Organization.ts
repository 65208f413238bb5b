import { DataTypes, Model, type Sequelize } from "sequelize";

/** A tenant: every room, member, API key and document belongs to exactly one organisation. */
export class Organization extends Model {
  declare id: string;
  declare name: string;
  /** Legacy, no longer read (members could write them): see the overrides below. */
  declare planType: string;
  declare maxRooms: number;
  declare maxMonthlyConnections: number;
  /** Operator overrides (npm run admin; db/migrations/20261204020000-usage.ts): null = none. */
  declare planOverride: string | null;
  declare mauLimitOverride: number | null;
  declare roomsLimitOverride: number | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof Organization {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        name: { type: DataTypes.STRING(128), allowNull: false },
        planType: { type: DataTypes.STRING(32), allowNull: false, defaultValue: "free" },
        maxRooms: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 100 },
        maxMonthlyConnections: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1000 },
        planOverride: { type: DataTypes.STRING(32), allowNull: true },
        mauLimitOverride: { type: DataTypes.INTEGER, allowNull: true },
        roomsLimitOverride: { type: DataTypes.INTEGER, allowNull: true },
      },
      { sequelize, tableName: "organizations", underscored: true },
    );
    return this;
  }
}
