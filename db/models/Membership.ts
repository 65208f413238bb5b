import { DataTypes, Model, type Sequelize } from "sequelize";

/** A user's role in one organisation: owner, admin, member or viewer. */
export class Membership extends Model {
  declare id: string;
  declare orgId: string;
  declare userId: string;
  declare role: "owner" | "admin" | "member" | "viewer";
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof Membership {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        userId: { type: DataTypes.STRING(64), allowNull: false },
        role: { type: DataTypes.STRING(16), allowNull: false },
      },
      { sequelize, tableName: "memberships", underscored: true },
    );
    return this;
  }
}
