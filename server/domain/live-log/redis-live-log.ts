/**
 * The live log shared by every server process through Redis.
 *
 * Per organisation, a capped stream `<prefix>:live-log:<org>` (XADD MAXLEN ~ history: Redis trims
 * whole stream nodes, so it holds a little more than `history`; reads return exactly the newest
 * `history`), and a pub/sub channel `<prefix>:live-log:<org>:events`. One Lua script appends a
 * batch and publishes each entry with the id XADD gave it, so ids are in one order per
 * organisation and every process hears every entry, in that order.
 *
 * Writes never wait: `append` queues, a timer flushes the queue every FLUSH_MS in one script call,
 * one call at a time. While Redis is unreachable the queue is kept (at most MAX_PENDING entries,
 * oldest dropped first, with a warning) and retried every RETRY_MS; rooms never notice.
 * A process subscribes to an organisation's channel only while one of its readers follows it.
 * A stream with no entry for KEEP_MS expires (a deleted organisation leaves nothing behind).
 */
import type { Redis } from "ioredis";
import type { Unsubscribe } from "../event-source.ts";
import { AppError } from "../../errors.ts";
import { logger } from "../../logger.ts";
import type { LiveLogBackend, LiveLogEntry, PendingEntry } from "./live-log.ts";

const APPEND = `
local maxlen = ARGV[1]
local keep = ARGV[2]
for i = 1, #KEYS do
  local body = ARGV[i + 2]
  local id = redis.call('XADD', KEYS[i], 'MAXLEN', '~', maxlen, '*', 'e', body)
  redis.call('PEXPIRE', KEYS[i], keep)
  redis.call('PUBLISH', KEYS[i] .. ':events', id .. ' ' .. body)
end
return #KEYS`;

export const FLUSH_MS = 20;
export const RETRY_MS = 1000;
export const MAX_PENDING = 10_000;
const MAX_BATCH = 500;
const KEEP_MS = 30 * 24 * 3600 * 1000;
const WARN_EVERY_MS = 10_000;
const SUBSCRIBE_TIMEOUT_MS = 5000;

type Scripted = Redis & { liveLogAppend(...args: (string | number)[]): Promise<number> };

interface OrgSubscription {
  listeners: Set<(entry: LiveLogEntry) => void>;
  ready: Promise<unknown>;
}

export interface RedisLiveLogOptions {
  redis: Redis;
  prefix: string;
  history: number;
}

export class RedisLiveLog implements LiveLogBackend {
  private readonly redis: Scripted;
  private readonly prefix: string;
  private readonly history: number;
  private pending: PendingEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** Entries at the front of `pending` being written now; drops never touch them. */
  private inFlight = 0;
  private failing = false;
  private dropped = 0;
  private warnedAt = 0;
  private closed = false;
  private subscriber: Redis | null = null;
  private readonly orgs = new Map<string, OrgSubscription>();

  constructor(options: RedisLiveLogOptions) {
    const redis = options.redis as Scripted;
    if (typeof redis.liveLogAppend !== "function") redis.defineCommand("liveLogAppend", { lua: APPEND });
    this.redis = redis;
    this.prefix = `${options.prefix}:live-log:`;
    this.history = options.history;
  }

  append(entry: PendingEntry): void {
    if (this.closed) return;
    this.pending.push(entry);
    if (this.pending.length > MAX_PENDING) {
      const excess = this.pending.length - MAX_PENDING;
      this.dropped += excess;
      this.pending.splice(this.inFlight, excess);
      this.warn("Dropping live log entries: Redis has not taken them in time");
    }
    this.schedule(FLUSH_MS);
  }

  async newest(orgId: string, after: string | null): Promise<LiveLogEntry[]> {
    let rows: Array<[string, string[]]>;
    try {
      rows = (await this.redis.xrevrange(this.key(orgId), "+", after === null ? "-" : `(${after}`, "COUNT", this.history)) as Array<[string, string[]]>;
    } catch (error) {
      logger.warn("Could not read a live log from Redis", { orgId, error: (error as Error).message });
      throw unavailable();
    }
    const entries: LiveLogEntry[] = [];
    for (const [id, fields] of rows) {
      const entry = parse(id, fields[1]);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  async subscribe(orgId: string, listener: (entry: LiveLogEntry) => void): Promise<Unsubscribe> {
    let org = this.orgs.get(orgId);
    if (!org) {
      org = { listeners: new Set(), ready: this.ensureSubscriber().subscribe(this.channel(orgId)) };
      this.orgs.set(orgId, org);
    }
    const subscription = org;
    subscription.listeners.add(listener);
    const unsubscribe = () => {
      subscription.listeners.delete(listener);
      if (subscription.listeners.size > 0 || this.orgs.get(orgId) !== subscription) return;
      this.orgs.delete(orgId);
      this.subscriber?.unsubscribe(this.channel(orgId)).catch(() => {});
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), SUBSCRIBE_TIMEOUT_MS);
    });
    const outcome = await Promise.race([subscription.ready.then(() => "ok" as const, () => "failed" as const), timeout]);
    clearTimeout(timer);
    if (outcome !== "ok") {
      unsubscribe();
      logger.warn("Could not follow a live log in Redis", { orgId, outcome });
      throw unavailable();
    }
    return unsubscribe;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // One last write of what is queued, bounded: shutdown must not wait on an unreachable Redis.
    const last = (async () => {
      await this.flushing;
      if (this.pending.length > 0) await this.flush();
    })();
    await Promise.race([last, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.orgs.clear();
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null || this.flushing !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.pending.length > 0) this.schedule(this.failing ? RETRY_MS : FLUSH_MS);
      });
    }, delayMs);
  }

  /** Write the queue in batches; on failure keep what was not written (ahead of newer entries). */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, MAX_BATCH);
      const keys = batch.map((e) => this.key(e.org_id));
      const bodies = batch.map((e) => JSON.stringify(e));
      this.inFlight = batch.length;
      try {
        await this.redis.liveLogAppend(keys.length, ...keys, this.history, KEEP_MS, ...bodies);
      } catch (error) {
        this.failing = true;
        this.warn("Could not write live log entries to Redis; retrying", (error as Error).message);
        return;
      } finally {
        this.inFlight = 0;
      }
      this.failing = false;
      // Entries appended meanwhile are behind the batch; drops skipped it.
      this.pending.splice(0, batch.length);
    }
  }

  private ensureSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    // No retry limit: a subscription sent while Redis is down waits for it; ioredis restores it on reconnect.
    const subscriber = this.redis.duplicate({ maxRetriesPerRequest: null });
    subscriber.on("error", (error: Error) => logger.warn("Redis live log subscriber error", { error: error.message }));
    subscriber.on("message", (channel: string, message: string) => {
      const orgId = channel.slice(this.prefix.length, channel.length - ":events".length);
      const org = this.orgs.get(orgId);
      if (!org) return;
      const space = message.indexOf(" ");
      const entry = space > 0 ? parse(message.slice(0, space), message.slice(space + 1)) : null;
      if (!entry) return;
      for (const listener of [...org.listeners]) {
        try {
          listener(entry);
        } catch (error) {
          logger.warn("A live log subscriber failed", { orgId, error: (error as Error).message });
        }
      }
    });
    this.subscriber = subscriber;
    return subscriber;
  }

  private key(orgId: string): string {
    return `${this.prefix}${orgId}`;
  }

  private channel(orgId: string): string {
    return `${this.prefix}${orgId}:events`;
  }

  private warn(message: string, error?: string): void {
    const now = Date.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    logger.warn(message, { pending: this.pending.length, droppedSoFar: this.dropped, error });
  }
}

function parse(id: string, body: string | undefined): LiveLogEntry | null {
  if (body === undefined) return null;
  try {
    return { id, ...(JSON.parse(body) as PendingEntry) };
  } catch {
    return null;
  }
}

function unavailable(): AppError {
  return new AppError("live_log_unavailable", "The live log is unavailable right now (Redis); try again shortly", 503);
}
