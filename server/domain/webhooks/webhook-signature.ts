/**
 * Standard Webhooks signing (the scheme Liveblocks and Svix use): a secret `whsec_<base64>`, whose
 * decoded bytes key HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`; the header
 * `webhook-signature` carries `v1,<base64 signature>`, several space-separated while a rolled
 * secret's predecessor still signs. docs/webhooks.md has the receiver's side.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";

export const SECRET_PREFIX = "whsec_";

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString("base64")}`;
}

/** Decoded keys by secret: a worker signs every delivery of an endpoint with the same one or two. */
const keys = new Map<string, KeyObject>();
const MAX_KEYS = 1000;

function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = createSecretKey(Buffer.from(secret.slice(SECRET_PREFIX.length), "base64"));
    keys.set(secret, key);
  }
  return key;
}

/** One `v1,<base64>` signature of a message with one secret. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac("sha256", keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64")}`;
}

/** The three headers of one attempt; `secrets` in order, newest first. */
export function webhookHeaders(secrets: string[], id: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((s) => signWebhook(s, id, timestampSeconds, body)).join(" "),
  };
}

/** Whether any `v1,` signature of the header is the one `secret` makes (constant-time compare). */
export function verifyWebhook(secret: string, headers: { id: string; timestamp: string; signature: string }, body: string): boolean {
  const expected = Buffer.from(signWebhook(secret, headers.id, Number(headers.timestamp), body));
  return headers.signature.split(" ").some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
