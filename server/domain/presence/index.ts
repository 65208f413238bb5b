/**
 * Room presence: users, their connection counts, and userEntered / userLeft events.
 * In memory for one process; in Redis when several processes share rooms.
 */
import type { Redis } from "ioredis";
import { MemoryPresenceStore, PresenceService } from "./presence-service.ts";
import { RedisPresenceStore } from "./redis-presence-store.ts";

export * from "./presence-service.ts";

export interface PresenceOptions {
  redis: Redis | null;
  prefix: string;
  instanceId: string;
  ttlMs: number;
}

export function createPresenceService(options: PresenceOptions): PresenceService {
  if (!options.redis) return new PresenceService(new MemoryPresenceStore());
  let service: PresenceService | null = null;
  const store = new RedisPresenceStore({
    redis: options.redis,
    prefix: options.prefix,
    instanceId: options.instanceId,
    ttlMs: options.ttlMs,
    onDeparted: (room, userId, info) => service?.emit("userLeft", room, userId, info),
  });
  service = new PresenceService(store);
  return service;
}
