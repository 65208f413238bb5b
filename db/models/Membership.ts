import { DataTypes, Model, type NonAttribute, type Sequelize } from "sequelize";
import type { Organization } from "./Organization.ts";
import type { User } from "./User.ts";

/** A user's role in one organisation: owner, admin, member or viewer. */
export class Membership extends Model {
  declare id: string;
  declare orgId: string;
  declare userId: string;
  declare role: "owner" | "admin" | "member" | "viewer";
  declare createdAt: Date;
  declare updatedAt: Date;
  /** Present when a query includes the association (`as: "organization"`, index.ts). */
  declare organization?: NonAttribute<Organization>;
  /** Present when a query includes the association (`as: "user"`, index.ts). */
  declare user?: NonAttribute<User>;

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
