/**
 * Presence counts shared by every server process through Redis.
 *
 * Per room, three hashes: `conns` (field `<instance>|<userId>` → this process's connection count),
 * `users` (userId → total across processes) and `info` (userId → JSON). Each process keeps an
 * `alive:<instance>` key with a TTL, refreshed every third of it, and a set of the rooms it has
 * entries in. A killed process stops refreshing: readers ignore its entries at once (list checks
 * liveness), and the next heartbeat of any live process reaps them — subtracting its counts from the
 * totals and announcing the users whose last connection it held. Every change is one Lua script, so
 * "first connection anywhere" / "last connection gone" is decided atomically across processes.
 *
 * If this process's own key ever expired (Redis unreachable for longer than the TTL), others may
 * have reaped its entries; the heartbeat notices (SET … GET answers nothing) and re-registers every
 * connection it still holds from its local mirror.
 */
import type { Redis } from "ioredis";
import type { ActiveUser, PresenceInfo, PresenceStore, RoomRef } from "./presence-service.ts";
import { roomKey } from "./presence-service.ts";
import { logger } from "../../logger.ts";

const JOIN = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local total = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[4])
return total`;

const LEAVE = `
local c = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if c <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
if c < 0 then return {-1, false} end
local info = redis.call('HGET', KEYS[3], ARGV[2])
local total = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if total <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[3], ARGV[2])
end
return {total, info}`;

const REAP = `
local gone = {}
local all = redis.call('HGETALL', KEYS[1])
local prefix = ARGV[1]
for i = 1, #all, 2 do
  local field = all[i]
  if string.sub(field, 1, #prefix) == prefix then
    local user = string.sub(field, #prefix + 1)
    redis.call('HDEL', KEYS[1], field)
    local total = redis.call('HINCRBY', KEYS[2], user, -tonumber(all[i + 1]))
    if total <= 0 then
      local info = redis.call('HGET', KEYS[3], user)
      redis.call('HDEL', KEYS[2], user)
      redis.call('HDEL', KEYS[3], user)
      table.insert(gone, user)
      table.insert(gone, info or '{}')
    end
  end
end
return gone`;

type Scripted = Redis & {
  presenceJoin(...args: (string | number)[]): Promise<number>;
  presenceLeave(...args: (string | number)[]): Promise<[number, string | null]>;
  presenceReap(...args: (string | number)[]): Promise<string[]>;
};

export interface RedisPresenceOptions {
  redis: Redis;
  prefix: string;
  instanceId: string;
  /** How long a silent process's entries count; heartbeats every third of it. */
  ttlMs: number;
  /** Called for users whose last connection was on a process found dead. */
  onDeparted: (room: RoomRef, userId: string, info: PresenceInfo) => void;
}

export class RedisPresenceStore implements PresenceStore {
  private readonly redis: Scripted;
  private readonly options: RedisPresenceOptions;
  private readonly p: string;
  /** roomKey → userId → this process's count (the mirror re-registered after an expiry). */
  private readonly local = new Map<string, { room: RoomRef; users: Map<string, { count: number; info: PresenceInfo }> }>();
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private started: Promise<void>;

  constructor(options: RedisPresenceOptions) {
    this.options = options;
    this.p = `${options.prefix}:presence`;
    const redis = options.redis as Scripted;
    if (typeof redis.presenceJoin !== "function") {
      redis.defineCommand("presenceJoin", { numberOfKeys: 4, lua: JOIN });
      redis.defineCommand("presenceLeave", { numberOfKeys: 3, lua: LEAVE });
      redis.defineCommand("presenceReap", { numberOfKeys: 3, lua: REAP });
    }
    this.redis = redis;
    // A failed first heartbeat must not fail every join forever: the interval retries it.
    this.started = this.heartbeat(true).catch((error: Error) => {
      logger.warn("Presence heartbeat failed", { error: error.message });
    });
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(options.ttlMs / 3)));
    this.timer.unref();
  }

  async join(room: RoomRef, userId: string, info: PresenceInfo): Promise<boolean> {
    await this.started;
    const key = roomKey(room);
    let entry = this.local.get(key);
    if (!entry) this.local.set(key, (entry = { room, users: new Map() }));
    const mine = entry.users.get(userId);
    if (mine) mine.count += 1;
    else entry.users.set(userId, { count: 1, info });
    const total = await this.redis.presenceJoin(...this.keys(key), this.rooms(this.options.instanceId), this.field(userId), userId, JSON.stringify(info), key);
    return total === 1;
  }

  async leave(room: RoomRef, userId: string): Promise<{ left: boolean; info: PresenceInfo }> {
    const key = roomKey(room);
    const entry = this.local.get(key);
    const mine = entry?.users.get(userId);
    if (mine && --mine.count <= 0) entry!.users.delete(userId);
    if (entry && entry.users.size === 0) this.local.delete(key);
    const [total, info] = await this.redis.presenceLeave(...this.keys(key), this.field(userId), userId);
    return { left: total === 0, info: parseInfo(info) };
  }

  async list(room: RoomRef): Promise<ActiveUser[]> {
    const [conns, info] = await Promise.all([this.redis.hgetall(`${this.roomPrefix(roomKey(room))}:conns`), this.redis.hgetall(`${this.roomPrefix(roomKey(room))}:info`)]);
    const instances = [...new Set(Object.keys(conns).map((f) => f.slice(0, f.indexOf("|"))))];
    const alive = new Set<string>();
    if (instances.length > 0) {
      const flags = await this.redis.mget(...instances.map((i) => this.alive(i)));
      instances.forEach((instance, i) => flags[i] !== null && alive.add(instance));
    }
    const users = new Map<string, number>();
    for (const [field, count] of Object.entries(conns)) {
      const sep = field.indexOf("|");
      if (!alive.has(field.slice(0, sep))) continue;
      const userId = field.slice(sep + 1);
      users.set(userId, (users.get(userId) ?? 0) + Number(count));
    }
    return [...users].filter(([, n]) => n > 0).map(([id, connections]) => ({ id, info: parseInfo(info[id] ?? null), connections }));
  }

  async connectionsElsewhere(room: RoomRef): Promise<number> {
    const conns = await this.redis.hgetall(`${this.roomPrefix(roomKey(room))}:conns`);
    const counts = new Map<string, number>();
    for (const [field, count] of Object.entries(conns)) {
      const instance = field.slice(0, field.indexOf("|"));
      if (instance !== this.options.instanceId) counts.set(instance, (counts.get(instance) ?? 0) + Number(count));
    }
    if (counts.size === 0) return 0;
    const instances = [...counts.keys()];
    // A dead process's entries linger until a heartbeat reaps them; they hold no seat.
    const flags = await this.redis.mget(...instances.map((i) => this.alive(i)));
    return instances.reduce((sum, instance, i) => sum + (flags[i] !== null ? Math.max(0, counts.get(instance)!) : 0), 0);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    // Leave what this process still holds, as a crash would but without waiting for the TTL.
    await this.reapInstance(this.options.instanceId, false).catch(() => {});
    await this.redis.del(this.alive(this.options.instanceId)).catch(() => {});
    await this.redis.srem(`${this.p}:instances`, this.options.instanceId).catch(() => {});
    this.local.clear();
  }

  private tick(): void {
    if (this.beating) return;
    this.beating = this.heartbeat(false)
      .catch((error: Error) => {
        logger.warn("Presence heartbeat failed", { error: error.message });
      })
      .finally(() => (this.beating = null));
  }

  private async heartbeat(first: boolean): Promise<void> {
    const { instanceId, ttlMs } = this.options;
    const previous = await this.redis.set(this.alive(instanceId), String(Date.now()), "PX", ttlMs, "GET");
    await this.redis.sadd(`${this.p}:instances`, instanceId);
    if (previous === null && !first && this.local.size > 0) {
      logger.warn("Presence entries of this process expired; registering them again", { instanceId });
      await this.reapInstance(instanceId, false);
      for (const { room, users } of this.local.values()) {
        for (const [userId, { count, info }] of users) {
          for (let i = 0; i < count; i++) {
            await this.redis.presenceJoin(...this.keys(roomKey(room)), this.rooms(instanceId), this.field(userId), userId, JSON.stringify(info), roomKey(room));
          }
        }
      }
    }
    const instances = await this.redis.smembers(`${this.p}:instances`);
    for (const other of instances) {
      if (other === instanceId) continue;
      if ((await this.redis.exists(this.alive(other))) === 0) await this.reapInstance(other, true);
    }
  }

  private async reapInstance(instanceId: string, announce: boolean): Promise<void> {
    const rooms = await this.redis.smembers(this.rooms(instanceId));
    for (const key of rooms) {
      const gone = await this.redis.presenceReap(...this.keys(key), `${instanceId}|`);
      if (!announce) continue;
      const sep = key.indexOf("/");
      const room = { orgId: key.slice(0, sep), roomId: key.slice(sep + 1) };
      for (let i = 0; i < gone.length; i += 2) this.options.onDeparted(room, gone[i]!, parseInfo(gone[i + 1] ?? null));
    }
    await this.redis.del(this.rooms(instanceId));
    if (instanceId !== this.options.instanceId) await this.redis.srem(`${this.p}:instances`, instanceId);
  }

  private keys(key: string): [string, string, string] {
    const r = this.roomPrefix(key);
    return [`${r}:conns`, `${r}:users`, `${r}:info`];
  }

  private roomPrefix(key: string): string {
    return `${this.p}:room:${key}`;
  }

  private rooms(instanceId: string): string {
    return `${this.p}:rooms:${instanceId}`;
  }

  private alive(instanceId: string): string {
    return `${this.p}:alive:${instanceId}`;
  }

  private field(userId: string): string {
    return `${this.options.instanceId}|${userId}`;
  }
}

function parseInfo(raw: string | null): PresenceInfo {
  if (!raw) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    return value && typeof value === "object" ? (value as PresenceInfo) : {};
  } catch {
    return {};
  }
}
