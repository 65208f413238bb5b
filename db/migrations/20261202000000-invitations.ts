/**
 * Invitations to an organisation, sent by email: adding a member by email always invites, whether
 * or not the address has an account, so the answer never tells. Only a SHA-256 hash of the
 * single-use token is kept; the email is lower-cased.
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("invitations", {
    id: { type: DataTypes.STRING(64), primaryKey: true },
    org_id: {
      type: DataTypes.STRING(64),
      allowNull: false,
      references: { model: "organizations", key: "id" },
      onDelete: "CASCADE",
    },
    email: { type: DataTypes.STRING(254), allowNull: false },
    role: { type: DataTypes.STRING(16), allowNull: false },
    token_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    // The Owner or Admin who invited; kept (as a plain id) when that account goes.
    invited_by: { type: DataTypes.STRING(64), allowNull: true },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    accepted_at: { type: DataTypes.DATE, allowNull: true },
    accepted_by: { type: DataTypes.STRING(64), allowNull: true },
    revoked_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("invitations", ["org_id", "email"]);
  await qi.addIndex("invitations", ["org_id", "created_at"]);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("invitations");
}
