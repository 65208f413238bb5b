/**
 * Outbound webhooks (issue 22): an organisation's endpoints, and the outbox of deliveries — one row
 * per (endpoint, event), written with the event (or right after it), delivered and retried by the
 * webhook worker (server/domain/webhooks/webhook-worker.ts).
 */
import { DataTypes, type QueryInterface } from "sequelize";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("webhook_endpoints", {
    id: { type: DataTypes.STRING(64), primaryKey: true },
    org_id: {
      type: DataTypes.STRING(64),
      allowNull: false,
      references: { model: "organizations", key: "id" },
      onDelete: "CASCADE",
    },
    url: { type: DataTypes.STRING(2048), allowNull: false },
    description: { type: DataTypes.STRING(512), allowNull: true },
    // JSON array of event types (webhook-events.ts).
    events: { type: DataTypes.TEXT, allowNull: false },
    enabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    // Why the endpoint was disabled: "manual" or "failing" (failing continuously for too long).
    disabled_reason: { type: DataTypes.STRING(32), allowNull: true },
    // whsec_ + base64: the server signs with it, so it is kept (not hashed).
    secret: { type: DataTypes.STRING(128), allowNull: false },
    // After a roll, the old secret keeps signing beside the new one until this moment.
    previous_secret: { type: DataTypes.STRING(128), allowNull: true },
    previous_secret_expires_at: { type: DataTypes.DATE, allowNull: true },
    // First failure since the last success (null: healthy).
    failing_since: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("webhook_endpoints", ["org_id"]);

  await qi.createTable("webhook_deliveries", {
    // The webhook-id header: the same on every attempt and replay.
    id: { type: DataTypes.STRING(64), primaryKey: true },
    endpoint_id: {
      type: DataTypes.STRING(64),
      allowNull: false,
      references: { model: "webhook_endpoints", key: "id" },
      onDelete: "CASCADE",
    },
    org_id: { type: DataTypes.STRING(64), allowNull: false },
    event_type: { type: DataTypes.STRING(64), allowNull: false },
    // The JSON body, exactly as signed and sent.
    payload: { type: DataTypes.TEXT, allowNull: false },
    // Events coalesced per window (ydocUpdated): one row per endpoint and key.
    dedupe_key: { type: DataTypes.STRING(512), allowNull: true },
    // pending (to send or retry), succeeded, failed (retries exhausted or endpoint disabled).
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "pending" },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    next_attempt_at: { type: DataTypes.DATE, allowNull: true },
    // A worker's claim: another worker takes the row again only after this (a crashed claimer).
    locked_until: { type: DataTypes.DATE, allowNull: true },
    last_attempt_at: { type: DataTypes.DATE, allowNull: true },
    response_status: { type: DataTypes.INTEGER, allowNull: true },
    latency_ms: { type: DataTypes.INTEGER, allowNull: true },
    last_error: { type: DataTypes.STRING(512), allowNull: true },
    delivered_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("webhook_deliveries", ["status", "next_attempt_at"], { name: "webhook_deliveries_due" });
  await qi.addIndex("webhook_deliveries", ["endpoint_id", "created_at"], { name: "webhook_deliveries_endpoint_created" });
  await qi.addIndex("webhook_deliveries", ["endpoint_id", "dedupe_key"], { name: "webhook_deliveries_dedupe", unique: true });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("webhook_deliveries");
  await qi.dropTable("webhook_endpoints");
}
