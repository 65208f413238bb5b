/**
 * The live log (issue 20): in memory for one process, in Redis when several share rooms.
 */
import type { Redis } from "ioredis";
import { LiveLog } from "./live-log.ts";
import { MemoryLiveLog } from "./memory-live-log.ts";
import { RedisLiveLog } from "./redis-live-log.ts";

export * from "./live-log.ts";

export interface LiveLogOptions {
  redis: Redis | null;
  prefix: string;
  /** Entries kept per organisation (LIVE_LOG_HISTORY). */
  history: number;
}

export function createLiveLog(options: LiveLogOptions): LiveLog {
  if (!options.redis) return new LiveLog(new MemoryLiveLog({ history: options.history }));
  return new LiveLog(new RedisLiveLog({ redis: options.redis, prefix: options.prefix, history: options.history }));
}
