import { DataTypes, Model, type Sequelize } from "sequelize";

/** An express-session record (dashboard logins), kept in the application database. */
export class Session extends Model {
  declare sid: string;
  declare userId: string | null;
  declare data: string;
  declare expiresAt: Date;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof Session {
    this.init(
      {
        sid: { type: DataTypes.STRING(64), primaryKey: true },
        userId: { type: DataTypes.STRING(64), allowNull: true },
        data: { type: DataTypes.TEXT, allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: "sessions", underscored: true },
    );
    return this;
  }
}
