import { DataTypes, Model, type Sequelize } from "sequelize";

/** A person on the team that builds on SyncForge (dashboard and REST API), not an end user. */
export class User extends Model {
  declare id: string;
  declare email: string;
  declare name: string;
  declare passwordHash: string;
  declare emailVerifiedAt: Date | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof User {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
        name: { type: DataTypes.STRING(128), allowNull: false },
        passwordHash: { type: DataTypes.STRING(100), allowNull: false },
        emailVerifiedAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "users", underscored: true },
    );
    return this;
  }
}
