/**
 * The one place that loads the `stripe` SDK. The composition root imports this module only when
 * billing is on (STRIPE_SECRET_KEY), so a server without billing never loads or calls Stripe.
 * STRIPE_API_URL points the SDK at another host (a local fake in tests, a proxy) through its
 * documented host/port/protocol options.
 */
import Stripe from "stripe";

export interface StripeClientConfig {
  secretKey: string;
  apiUrl: string | null;
}

/** Stripe requests give up after this long; a webhook then answers 500 and Stripe delivers it again. */
const TIMEOUT_MS = 20_000;

/** A Stripe client for the configured key (and host); retries carry the SDK's idempotency keys. */
export function createStripeClient(config: StripeClientConfig): Stripe {
  const target = config.apiUrl ? new URL(config.apiUrl) : null;
  return new Stripe(config.secretKey, {
    timeout: TIMEOUT_MS,
    // Retried requests carry an idempotency key (the SDK adds one to every POST).
    maxNetworkRetries: 2,
    appInfo: { name: "SyncForge" },
    telemetry: false,
    ...(target
      ? {
          host: target.hostname,
          port: target.port || (target.protocol === "http:" ? 80 : 443),
          protocol: target.protocol === "http:" ? ("http" as const) : ("https" as const),
        }
      : {}),
  });
}
