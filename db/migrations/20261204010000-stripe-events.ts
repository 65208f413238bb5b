/**
 * The Stripe webhook events SyncForge has handled (issue 19): one row per event id, written in the
 * same transaction as the change the event made, so a replayed or concurrently re-delivered event
 * is recognised and applied once. `outcome` says whether it changed anything (applied) or was
 * deliberately left alone (ignored: older than the state already held, another subscription, an
 * unknown customer, a type SyncForge does not use).
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("stripe_events", {
    // Stripe's event id (evt_…).
    id: { type: DataTypes.STRING(255), primaryKey: true },
    type: { type: DataTypes.STRING(128), allowNull: false },
    // The organisation the event was about, when one was found (no foreign key: the record outlives it).
    org_id: { type: DataTypes.STRING(64), allowNull: true },
    outcome: { type: DataTypes.STRING(16), allowNull: false },
    // When Stripe created the event, and when SyncForge received and committed it.
    event_created_at: { type: DataTypes.DATE, allowNull: false },
    received_at: { type: DataTypes.DATE, allowNull: false },
    processed_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("stripe_events", ["org_id", "event_created_at"]);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("stripe_events");
}
