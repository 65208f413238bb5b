/**
 * An organisation's usage as GET /api/organizations/:org_id/usage answers it (docs/api.md "Usage"):
 * the current calendar month (UTC) against the plan's limits, and a series by hour or by day.
 * Rooms and storage are computed at read time; the rest comes from what the meters of every
 * process wrote (usage-meter.ts), this process's own counts flushed first.
 *
 * Hours add the processes up: messages, comments and notifications exactly; peak connections and
 * active rooms as the sum of each process's (a room open on two processes counts twice, peaks of
 * different moments add up: an upper bound). A day's peak connections and active rooms are those
 * of its busiest hour; its active users are the distinct users of the day.
 */
import { Op, col, fn } from "sequelize";
import type { Database } from "../../../db/index.ts";
import { INTERNAL_MARK } from "../../../protocol/document-name.ts";
import { NO_PLAN, type Entitlements } from "../billing/entitlements.ts";
import { BadRequestError } from "../../errors.ts";
import { systemClock, type Clock } from "../clock.ts";
import { utcDay, type UsageMeter } from "./usage-meter.ts";

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** How far back each granularity reaches. */
export const SERIES_REACH_MS = { hour: 48 * HOUR_MS, day: 90 * DAY_MS } as const;
export type Granularity = keyof typeof SERIES_REACH_MS;

export interface UsagePoint {
  at: string;
  /** Distinct users of the day (day granularity; null by hour: users are counted per day). */
  active_users: number | null;
  /** Distinct users of the day's month up to and including that day (day granularity; null by hour). */
  monthly_active_users: number | null;
  peak_connections: number;
  active_rooms: number;
  messages: number;
  comments: number;
  notifications: number;
}

export interface UsageReport {
  period: { start: string; end: string };
  plan: { id: string; name: string };
  billing_enabled: boolean;
  limits: { monthly_active_users: number | null; rooms: number | null };
  current: {
    monthly_active_users: number;
    rooms: number;
    connections: number;
    peak_connections: number;
    storage_bytes: number;
    comments: number;
    notifications: number;
    messages: number;
  };
  granularity: Granularity;
  series: UsagePoint[];
}

export interface UsageQuery {
  granularity?: Granularity;
  from?: Date;
  to?: Date;
}

interface HourTotals {
  peak: number;
  rooms: number;
  messages: number;
  comments: number;
  notifications: number;
}

export class UsageService {
  private readonly db: Database;
  private readonly meter: UsageMeter;
  private readonly entitlements: Entitlements;
  private readonly clock: Clock;

  constructor(options: { db: Database; meter: UsageMeter; entitlements: Entitlements; clock?: Clock }) {
    this.db = options.db;
    this.meter = options.meter;
    this.entitlements = options.entitlements;
    this.clock = options.clock ?? systemClock;
  }

  async report(orgId: string, query: UsageQuery = {}): Promise<UsageReport> {
    const now = this.clock().getTime();
    const granularity = query.granularity ?? "day";
    const step = granularity === "hour" ? HOUR_MS : DAY_MS;
    const to = query.to?.getTime() ?? now;
    const from = query.from?.getTime() ?? to - (granularity === "hour" ? 24 * HOUR_MS : 30 * DAY_MS);
    if (from >= to) throw new BadRequestError("from must be before to", "invalid_range");
    // Bounds the series: no bucket starts after now.
    if (to > now + step) throw new BadRequestError("to may not be in the future", "invalid_range");
    if (from < now - SERIES_REACH_MS[granularity]) {
      throw new BadRequestError(`granularity=${granularity} reaches ${granularity === "hour" ? "48 hours" : "90 days"} back at most`, "invalid_range");
    }
    await this.meter.flush();
    const date = new Date(now);
    const monthStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    const monthEnd = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    const entitlement = await this.entitlements.get(orgId);

    const firstBucket = Math.floor(from / step) * step;
    const hours = await this.hourTotals(orgId, Math.min(firstBucket, monthStart), Math.max(to, now));
    const monthHours = [...hours].filter(([hour]) => hour >= monthStart && hour < monthEnd).map(([, t]) => t);
    const [mau, rooms, storage, connections] = await Promise.all([
      this.monthlyActiveUsers(orgId, monthStart, now),
      this.db.models.Room.count({ where: { orgId } }),
      this.storageBytes(orgId),
      this.connections(orgId, now),
    ]);
    return {
      period: { start: new Date(monthStart).toISOString(), end: new Date(monthEnd).toISOString() },
      plan: entitlement.plan ? { id: entitlement.plan.id, name: entitlement.plan.name } : { ...NO_PLAN },
      billing_enabled: entitlement.billingEnabled,
      limits: { monthly_active_users: entitlement.limits.monthlyActiveUsers, rooms: entitlement.limits.rooms },
      current: {
        monthly_active_users: mau,
        rooms,
        connections,
        peak_connections: Math.max(connections, ...monthHours.map((t) => t.peak)),
        storage_bytes: storage,
        comments: sum(monthHours, "comments"),
        notifications: sum(monthHours, "notifications"),
        messages: sum(monthHours, "messages"),
      },
      granularity,
      series: granularity === "hour" ? this.hourSeries(hours, firstBucket, to) : await this.daySeries(orgId, hours, firstBucket, to),
    };
  }

  private hourSeries(hours: Map<number, HourTotals>, first: number, to: number): UsagePoint[] {
    const points: UsagePoint[] = [];
    for (let at = first; at < to; at += HOUR_MS) {
      const t = hours.get(at);
      points.push(point(at, null, null, t ? [t] : []));
    }
    return points;
  }

  private async daySeries(orgId: string, hours: Map<number, HourTotals>, first: number, to: number): Promise<UsagePoint[]> {
    const firstMonth = new Date(first);
    const since = utcDay(Date.UTC(firstMonth.getUTCFullYear(), firstMonth.getUTCMonth(), 1));
    const rows = (await this.db.models.UsageUserDay.findAll({
      where: { orgId, day: { [Op.gte]: since, [Op.lte]: utcDay(to) } },
      attributes: ["day", "userId"],
      order: [["day", "ASC"]],
      raw: true,
    })) as unknown as Array<{ day: string; userId: string }>;
    const perDay = new Map<string, number>();
    // Running distinct users per month, for each day's monthly_active_users.
    const monthUsers = new Map<string, Set<string>>();
    const mauAt = new Map<string, number>();
    for (const row of rows) {
      perDay.set(row.day, (perDay.get(row.day) ?? 0) + 1);
      const month = row.day.slice(0, 7);
      let users = monthUsers.get(month);
      if (!users) monthUsers.set(month, (users = new Set()));
      users.add(row.userId);
      mauAt.set(row.day, users.size);
    }
    const points: UsagePoint[] = [];
    const firstDay = utcDay(first);
    let month = firstDay.slice(0, 7);
    // The month's count before the first bucket, then carried from day to day.
    let running = 0;
    for (const [day, count] of mauAt) if (day < firstDay && day.startsWith(month)) running = count;
    for (let at = first; at < to; at += DAY_MS) {
      const day = utcDay(at);
      if (!day.startsWith(month)) {
        month = day.slice(0, 7);
        running = 0;
      }
      running = mauAt.get(day) ?? running;
      const dayHours: HourTotals[] = [];
      for (let h = at; h < at + DAY_MS; h += HOUR_MS) {
        const t = hours.get(h);
        if (t) dayHours.push(t);
      }
      points.push(point(at, perDay.get(day) ?? 0, running, dayHours));
    }
    return points;
  }

  /** Per hour in [from, to): the processes' rows added up. */
  private async hourTotals(orgId: string, from: number, to: number): Promise<Map<number, HourTotals>> {
    const rows = await this.db.models.UsageHour.findAll({
      where: { orgId, hour: { [Op.gte]: new Date(Math.floor(from / HOUR_MS) * HOUR_MS), [Op.lt]: new Date(to) } },
      attributes: ["hour", "peakConnections", "activeRooms", "messages", "comments", "notifications"],
    });
    const totals = new Map<number, HourTotals>();
    for (const row of rows) {
      const at = row.hour.getTime();
      const t = totals.get(at) ?? { peak: 0, rooms: 0, messages: 0, comments: 0, notifications: 0 };
      t.peak += row.peakConnections;
      t.rooms += row.activeRooms;
      t.messages += Number(row.messages);
      t.comments += row.comments;
      t.notifications += row.notifications;
      totals.set(at, t);
    }
    return totals;
  }

  private async monthlyActiveUsers(orgId: string, monthStart: number, now: number): Promise<number> {
    return this.db.models.UsageUserDay.count({
      where: { orgId, day: { [Op.gte]: utcDay(monthStart), [Op.lte]: utcDay(now) } },
      distinct: true,
      col: "userId",
    });
  }

  /** Live connections: this process's, plus each other process's at its last flush (if recent). */
  private async connections(orgId: string, now: number): Promise<number> {
    const rows = await this.db.models.UsageHour.findAll({
      where: {
        orgId,
        instanceId: { [Op.ne]: this.meter.instanceId },
        hour: { [Op.gte]: new Date(Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS) },
        updatedAt: { [Op.gte]: new Date(now - 2 * this.meter.flushMs - 1000) },
      },
      attributes: ["instanceId", "hour", "connections"],
      order: [["hour", "DESC"]],
    });
    const latest = new Map<string, number>();
    for (const row of rows) if (!latest.has(row.instanceId)) latest.set(row.instanceId, row.connections);
    return this.meter.liveConnections(orgId) + [...latest.values()].reduce((a, b) => a + b, 0);
  }

  /** Bytes of the organisation's stored documents: snapshots plus updates not compacted yet. */
  private async storageBytes(orgId: string): Promise<number> {
    const { RoomDocument, DocumentUpdate } = this.db.models;
    const total = (column: string) => [fn("COALESCE", fn("SUM", fn("LENGTH", col(column))), 0), "bytes"] as [ReturnType<typeof fn>, string];
    const [snapshots, updates] = await Promise.all([
      RoomDocument.findOne({ where: { orgId }, attributes: [total("state")], raw: true }) as Promise<{ bytes: number | string } | null>,
      DocumentUpdate.findOne({
        where: { documentName: { [Op.like]: `${INTERNAL_MARK}${orgId}/%` } },
        attributes: [total("data")],
        raw: true,
      }) as Promise<{ bytes: number | string } | null>,
    ]);
    return Number(snapshots?.bytes ?? 0) + Number(updates?.bytes ?? 0);
  }
}

function sum(hours: HourTotals[], key: "messages" | "comments" | "notifications"): number {
  return hours.reduce((total, t) => total + t[key], 0);
}

function point(at: number, activeUsers: number | null, mau: number | null, hours: HourTotals[]): UsagePoint {
  return {
    at: new Date(at).toISOString(),
    active_users: activeUsers,
    monthly_active_users: mau,
    peak_connections: Math.max(0, ...hours.map((t) => t.peak)),
    active_rooms: Math.max(0, ...hours.map((t) => t.rooms)),
    messages: sum(hours, "messages"),
    comments: sum(hours, "comments"),
    notifications: sum(hours, "notifications"),
  };
}
