/**
 * Usage metering off the hot path (issue 19, docs/billing.md "What is metered"). Connections,
 * document messages, comment writes and notifications are counted in memory, synchronously (a
 * few map operations, no await, no I/O), and written every `flushMs` in one batch per table, as the
 * activity feed batches edits (server/domain/activity/activity-service.ts):
 *   - usage_user_days: one row per end user per organisation per UTC day (INSERT … ON CONFLICT DO
 *     NOTHING, so every process may write the same row);
 *   - usage_hours: one row per organisation per UTC hour per process, holding that process's
 *     totals for the hour as absolute values (its peak concurrent connections, rooms with a
 *     connection, messages, comments, notifications, and its connections at the flush). A process
 *     only ever writes its own rows, so a retried flush cannot count twice.
 */
import type { Database } from "../../../db/index.ts";
import { logger } from "../../logger.ts";

const HOUR_MS = 3600 * 1000;
const MAX_BATCH = 1000;

interface HourCounts {
  orgId: string;
  hour: number;
  peak: number;
  rooms: Set<string>;
  messages: number;
  comments: number;
  notifications: number;
  /** Changed since the last flush. */
  dirty: boolean;
}

interface LiveOrg {
  connections: number;
  rooms: Map<string, number>;
}

export interface UsageMeterOptions {
  db: Database;
  /** This process (server/app.ts instanceId): the usage_hours rows it owns. */
  instanceId: string;
  /** How often counts are written (ms); default 15 s. */
  flushMs?: number;
  now?: () => number;
}

/** YYYY-MM-DD of a time, UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export class UsageMeter {
  readonly instanceId: string;
  readonly flushMs: number;
  private readonly db: Database;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private readonly live = new Map<string, LiveOrg>();
  /** The current hour's counts per organisation; earlier hours wait in `closed` for their last write. */
  private current = new Map<string, HourCounts>();
  private currentHour: number;
  private closed: HourCounts[] = [];
  private userDays = new Map<string, { orgId: string; day: string; userId: string }>();
  /** Rows of `seenDay` already queued or written: a reconnect costs one Set lookup. */
  private seen = new Set<string>();
  private seenDay = "";
  private flushing: Promise<void> | null = null;

  constructor(options: UsageMeterOptions) {
    this.db = options.db;
    this.instanceId = options.instanceId;
    this.flushMs = options.flushMs ?? 15_000;
    this.now = options.now ?? Date.now;
    this.currentHour = this.hourOf(this.now());
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** An end user's connection to a room opened (Hocuspocus `connected`). */
  connectionOpened(orgId: string, roomId: string, userId: string): void {
    const now = this.now();
    let org = this.live.get(orgId);
    if (!org) {
      org = { connections: 0, rooms: new Map() };
      this.live.set(orgId, org);
    }
    org.connections += 1;
    org.rooms.set(roomId, (org.rooms.get(roomId) ?? 0) + 1);
    const counts = this.counts(orgId, now);
    counts.rooms.add(roomId);
    if (org.connections > counts.peak) counts.peak = org.connections;
    counts.dirty = true;
    this.countUserDay(orgId, userId, now);
  }

  connectionClosed(orgId: string, roomId: string): void {
    const org = this.live.get(orgId);
    if (!org) return;
    org.connections = Math.max(0, org.connections - 1);
    const inRoom = (org.rooms.get(roomId) ?? 1) - 1;
    if (inRoom > 0) org.rooms.set(roomId, inRoom);
    else org.rooms.delete(roomId);
    // Written once more with connections 0, then forgotten.
    this.counts(orgId, this.now()).dirty = true;
  }

  /** One document update applied from a client, or one server-side comment write. Per message: keep it cheap. */
  countMessage(orgId: string): void {
    const counts = this.counts(orgId, this.now());
    counts.messages += 1;
    counts.dirty = true;
  }

  countComment(orgId: string): void {
    const counts = this.counts(orgId, this.now());
    counts.comments += 1;
    counts.dirty = true;
  }

  countNotification(orgId: string): void {
    const counts = this.counts(orgId, this.now());
    counts.notifications += 1;
    counts.dirty = true;
  }

  /** This process's live connections to the organisation's rooms. */
  liveConnections(orgId: string): number {
    return this.live.get(orgId)?.connections ?? 0;
  }

  /** Write what was counted since the last flush (one at a time; a caller waits for a running one, then runs). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => (this.flushing = null));
    await this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private hourOf(ms: number): number {
    return Math.floor(ms / HOUR_MS) * HOUR_MS;
  }

  private counts(orgId: string, now: number): HourCounts {
    if (now - this.currentHour >= HOUR_MS) this.rollOver(now);
    let counts = this.current.get(orgId);
    if (!counts) {
      const org = this.live.get(orgId);
      counts = {
        orgId,
        hour: this.currentHour,
        peak: org?.connections ?? 0,
        rooms: new Set(org?.rooms.keys() ?? []),
        messages: 0,
        comments: 0,
        notifications: 0,
        dirty: true,
      };
      this.current.set(orgId, counts);
    }
    return counts;
  }

  /** A new hour: the old hour's counts wait for their last write; connections still open count in the new one. */
  private rollOver(now: number): void {
    for (const counts of this.current.values()) if (counts.dirty) this.closed.push(counts);
    this.current = new Map();
    this.currentHour = this.hourOf(now);
    for (const orgId of this.live.keys()) this.counts(orgId, now);
  }

  private countUserDay(orgId: string, userId: string, now: number): void {
    const day = utcDay(now);
    if (day !== this.seenDay) {
      this.seen = new Set();
      this.seenDay = day;
    }
    const key = `${orgId}\u0000${userId}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.userDays.set(`${day}\u0000${key}`, { orgId, day, userId });
  }

  private async write(): Promise<void> {
    const now = this.now();
    if (now - this.currentHour >= HOUR_MS) this.rollOver(now);
    const days = [...this.userDays.values()];
    this.userDays = new Map();
    const hours = [...this.closed, ...[...this.current.values()].filter((c) => c.dirty)];
    this.closed = [];
    for (const counts of hours) counts.dirty = false;
    const updatedAt = new Date(now);
    const rows = hours.map((c) => ({
      orgId: c.orgId,
      hour: new Date(c.hour),
      instanceId: this.instanceId,
      peakConnections: c.peak,
      connections: c.hour === this.currentHour ? this.liveConnections(c.orgId) : 0,
      activeRooms: c.rooms.size,
      messages: c.messages,
      comments: c.comments,
      notifications: c.notifications,
      updatedAt,
    }));
    const { UsageUserDay, UsageHour } = this.db.models;
    try {
      for (let i = 0; i < days.length; i += MAX_BATCH) {
        await UsageUserDay.bulkCreate(days.slice(i, i + MAX_BATCH), { ignoreDuplicates: true });
      }
    } catch (error) {
      for (const d of days) this.userDays.set(`${d.day}\u0000${d.orgId}\u0000${d.userId}`, d);
      logger.warn("Could not write usage (active users); retrying at the next flush", { rows: days.length, error: (error as Error).message });
    }
    try {
      for (let i = 0; i < rows.length; i += MAX_BATCH) {
        await UsageHour.bulkCreate(rows.slice(i, i + MAX_BATCH), {
          updateOnDuplicate: ["peakConnections", "connections", "activeRooms", "messages", "comments", "notifications", "updatedAt"],
        });
      }
    } catch (error) {
      // Absolute values: the next flush writes them again, current or not.
      for (const counts of hours) {
        counts.dirty = true;
        if (counts.hour !== this.currentHour) this.closed.push(counts);
      }
      logger.warn("Could not write usage (hourly counts); retrying at the next flush", { rows: rows.length, error: (error as Error).message });
    }
    // An organisation with no connection left here and nothing counted this hour since is dropped.
    for (const [orgId, org] of this.live) if (org.connections === 0) this.live.delete(orgId);
  }
}
