import { DataTypes, Model, type Sequelize } from "sequelize";

/** A single-use, expiring token sent by mail (verify email, reset password); only its hash is kept. */
export class EmailToken extends Model {
  declare id: string;
  declare userId: string;
  declare purpose: "verify_email" | "reset_password";
  declare tokenHash: string;
  declare expiresAt: Date;
  declare usedAt: Date | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof EmailToken {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        userId: { type: DataTypes.STRING(64), allowNull: false },
        purpose: { type: DataTypes.STRING(32), allowNull: false },
        tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        usedAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "email_tokens", underscored: true },
    );
    return this;
  }
}
