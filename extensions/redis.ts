/**
 * Several processes, one room: @hocuspocus/extension-redis fans document updates out through Redis
 * and takes a Redis lock around each store. Presence (awareness) is not Hocuspocus': it crosses
 * processes through server/realtime/presence/presence-relay.ts. Durability does not depend on Redis:
 * each process logs the updates its own clients send (persistence.ts), and snapshot writes merge
 * rather than overwrite (document-store.ts).
 */
import { Redis as RedisExtension } from "@hocuspocus/extension-redis";
import { Redis as IORedis } from "ioredis";

export interface RedisOptions {
  url: string;
  prefix: string;
  identifier: string;
}

export function createRedisExtension(options: RedisOptions): RedisExtension {
  return new RedisExtension({
    createClient: () => new IORedis(options.url, { maxRetriesPerRequest: null, lazyConnect: false }),
    prefix: `${options.prefix}:collab`,
    identifier: options.identifier,
    disconnectDelay: 500,
  });
}
