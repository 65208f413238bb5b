import { DataTypes, Model, type Sequelize } from "sequelize";

/** The compacted Yjs state of one room's document; `version` counts snapshot writes. */
export class RoomDocument extends Model {
  declare name: string;
  declare orgId: string;
  declare roomId: string;
  declare state: Buffer;
  declare version: number;
  declare createdAt: Date;
  declare updatedAt: Date;

  static initModel(sequelize: Sequelize): typeof RoomDocument {
    this.init(
      {
        name: { type: DataTypes.STRING(400), primaryKey: true },
        orgId: { type: DataTypes.STRING(64), allowNull: false },
        roomId: { type: DataTypes.STRING(256), allowNull: false },
        state: { type: DataTypes.BLOB, allowNull: false },
        version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      },
      { sequelize, tableName: "room_documents", underscored: true },
    );
    return this;
  }
}
