/**
 * Webhook delivery attempts as live log entries: one `webhook` entry per attempt, with the HTTP
 * status as its code (none when no answer came) and a detail naming the event, the endpoint, the
 * attempt and its outcome. The room is the one the event's data names (none for org-wide events).
 */
import type { WebhookAttempt } from "../webhooks/webhook-worker.ts";
import type { LiveLogInput } from "./live-log.ts";

export function webhookEntry(attempt: WebhookAttempt): LiveLogInput {
  const outcome = attempt.ok ? "delivered" : `failed: ${attempt.error ?? "error"}`;
  const entry: LiveLogInput = {
    orgId: attempt.orgId,
    roomId: roomOf(attempt.payload),
    kind: "webhook",
    detail: `${attempt.eventType} ${attempt.endpointId} attempt ${attempt.attempt} ${outcome}`,
  };
  if (attempt.status !== null) entry.code = attempt.status;
  return entry;
}

function roomOf(payload: string): string | null {
  try {
    const roomId = (JSON.parse(payload) as { data?: { roomId?: unknown } }).data?.roomId;
    return typeof roomId === "string" ? roomId : null;
  } catch {
    return null;
  }
}
