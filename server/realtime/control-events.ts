/**
 * Control events every server process must act on, not only the one that handled the request:
 * an API key revoked, a member removed or given another role, a room deleted, an organisation's
 * plan changed (server/domain/billing/entitlements.ts).
 *
 * Published on the Redis channel `<REDIS_PREFIX>:control` as JSON `{ origin, event }`. `publish`
 * handles the event in this process (awaited, so a REST answer comes after this process has acted)
 * while sending it to the others; each process handles what it receives from the others (its own
 * echo is skipped by origin). Without Redis the same path runs in this process alone. Redis
 * pub/sub delivers at most once: a process that is disconnected from Redis when an event is
 * published misses it, and falls back on its issuer cache expiring (5 s) and the database checks
 * every new connection passes.
 */
import type { Redis } from "ioredis";
import { z } from "zod";
import { ORG_ROLES } from "../domain/orgs/policy.ts";
import { logger } from "../logger.ts";

const id = z.string().min(1).max(256);
const eventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("api_key_revoked"), keyId: id }),
  /** role null: removed from the organisation. */
  z.object({ type: z.literal("member_changed"), orgId: id, userId: id, role: z.enum(ORG_ROLES).nullable() }),
  z.object({ type: z.literal("room_deleted"), orgId: id, roomId: id }),
  /** An organisation's plan inputs changed (billing account, operator override): reload them. */
  z.object({ type: z.literal("entitlements_changed"), orgId: id }),
]);
const envelopeSchema = z.object({ origin: z.string(), event: eventSchema });

export type ControlEvent = z.infer<typeof eventSchema>;

/** "local": this process made the change; "remote": another process did. */
export type ControlHandler = (event: ControlEvent, origin: "local" | "remote") => Promise<void> | void;

export interface ControlChannel {
  /** Act on `event` here and tell every other process. Rejects only if acting here fails. */
  publish(event: ControlEvent): Promise<void>;
  close(): Promise<void>;
}

export interface ControlChannelOptions {
  redis: Redis | null;
  prefix: string;
  instanceId: string;
  handle: ControlHandler;
  /** How long boot waits for the subscription before going on without it (ms); default 5000. */
  subscribeTimeoutMs?: number;
}

/** Subscribe (when Redis is configured) and return the channel; resolves once subscribed. */
export async function createControlChannel(options: ControlChannelOptions): Promise<ControlChannel> {
  const channel = `${options.prefix}:control`;
  // No retry limit: a subscribe sent while Redis is down waits for it instead of failing for good.
  const subscriber = options.redis?.duplicate({ maxRetriesPerRequest: null }) ?? null;

  if (subscriber) {
    subscriber.on("error", (error: Error) => logger.warn("Redis control subscriber error", { error: error.message }));
    subscriber.on("message", (from: string, message: string) => {
      if (from !== channel) return;
      let envelope: z.infer<typeof envelopeSchema>;
      try {
        envelope = envelopeSchema.parse(JSON.parse(message));
      } catch {
        logger.warn("Ignored an unreadable control event", { channel });
        return;
      }
      if (envelope.origin === options.instanceId) return;
      void run(envelope.event, "remote").catch(() => {});
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.subscribeTimeoutMs ?? 5000);
    });
    // ioredis keeps the subscription queued and restores it on every reconnect.
    const subscribed = subscriber.subscribe(channel).then(
      () => "ok" as const,
      (error: Error) => {
        logger.warn("Could not subscribe to control events", { error: error.message });
        return "failed" as const;
      },
    );
    if ((await Promise.race([subscribed, timeout])) === "timeout") logger.warn("Subscribing to control events is taking long; going on", { channel });
    clearTimeout(timer);
  }

  async function run(event: ControlEvent, origin: "local" | "remote"): Promise<void> {
    try {
      await options.handle(event, origin);
    } catch (error) {
      logger.error("Handling a control event failed", { type: event.type, origin, error: (error as Error).message });
      throw error;
    }
  }

  async function send(event: ControlEvent): Promise<void> {
    if (!options.redis) return;
    try {
      await options.redis.publish(channel, JSON.stringify({ origin: options.instanceId, event }));
    } catch (error) {
      logger.error("Could not publish a control event; other processes act when their caches expire", { type: event.type, error: (error as Error).message });
    }
  }

  return {
    async publish(event) {
      await Promise.all([send(event), run(event, "local")]);
    },
    async close() {
      subscriber?.disconnect();
    },
  };
}
