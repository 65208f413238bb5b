import { DataTypes, Model, type Sequelize } from "sequelize";

/** A room of one organisation, addressed by clients by its plain roomId (unique per org). */
export class Room extends Model {
  declare id: string;
  declare orgId: string;
  declare roomId: string;
  declare name: string | null;
  declare type: string;
  declare metadata: Record<string, unknown>;
  declare maxParticipants: number | null;
  declare defaultAccess: string[];
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof Room {
    this.init(
      {
        id: { type: DataTypes.STRING(64), primaryKey: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        roomId: { type: DataTypes.STRING(256), allowNull: false },
        name: { type: DataTypes.STRING(256), allowNull: true },
        type: { type: DataTypes.STRING(32), allowNull: false, defaultValue: "yjs" },
        metadata: { type: DataTypes.JSON, allowNull: false, defaultValue: {} },
        maxParticipants: { type: DataTypes.INTEGER, allowNull: true },
        defaultAccess: { type: DataTypes.JSON, allowNull: false, defaultValue: [] },
      },
      { sequelize, tableName: "rooms", underscored: true },
    );
    return this;
  }
}
