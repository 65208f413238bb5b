import { DataTypes, Model, type Sequelize } from "sequelize";

/** One Yjs update, appended before it is applied and broadcast; removed by compaction. */
export class DocumentUpdate extends Model {
  declare id: number;
  declare documentName: string;
  declare data: Buffer;
  declare writer: string;
  declare createdAt: Date;

  static initModel(sequelize: Sequelize): typeof DocumentUpdate {
    this.init(
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        documentName: { type: DataTypes.STRING(400), allowNull: false },
        data: { type: DataTypes.BLOB, allowNull: false },
        writer: { type: DataTypes.STRING(64), allowNull: false },
      },
      { sequelize, tableName: "document_updates", underscored: true, updatedAt: false },
    );
    return this;
  }
}
