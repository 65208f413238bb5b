import { DataTypes, Model, type Sequelize } from "sequelize";

/**
 * A secret key a team's backend uses against the REST API. Only the SHA-256 hash of the secret and
 * a visible prefix are stored; after a rotation the previous hash stays valid until
 * previousExpiresAt (the grace period).
 */
export class ApiKey extends Model {
  declare id: string;
  declare orgId: string;
  declare name: string;
  declare prefix: string;
  declare secretHash: string;
  declare previousSecretHash: string | null;
  declare previousExpiresAt: Date | null;
  declare createdBy: string | null;
  declare lastUsedAt: Date | null;
  declare rotatedAt: Date | null;
  declare revokedAt: Date | null;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof ApiKey {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        name: { type: DataTypes.STRING(128), allowNull: false },
        prefix: { type: DataTypes.STRING(16), allowNull: false },
        secretHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        previousSecretHash: { type: DataTypes.STRING(64), allowNull: true },
        previousExpiresAt: { type: DataTypes.DATE, allowNull: true },
        createdBy: { type: DataTypes.STRING(64), allowNull: true },
        lastUsedAt: { type: DataTypes.DATE, allowNull: true },
        rotatedAt: { type: DataTypes.DATE, allowNull: true },
        revokedAt: { type: DataTypes.DATE, allowNull: true },
      },
      { sequelize, tableName: "api_keys", underscored: true },
    );
    return this;
  }
}
