import { DataTypes, Model, type Sequelize } from "sequelize";

/** When a room id of an organisation was last deleted; kept for one access-token lifetime. */
export class RoomTombstone extends Model {
  declare orgId: string;
  declare roomId: string;
  declare deletedAt: Date;

  static initModel(sequelize: Sequelize): typeof RoomTombstone {
    this.init(
      {
        orgId: { type: DataTypes.STRING(64), primaryKey: true },
        roomId: { type: DataTypes.STRING(256), primaryKey: true },
        deletedAt: { type: DataTypes.DATE, allowNull: false },
      },
      { sequelize, tableName: "room_tombstones", underscored: true, timestamps: false },
    );
    return this;
  }
}
