/**
 * Admission of end users against an organisation's monthly-active-users limit, at connect
 * (issue 19). A user already counted this calendar month (UTC) always gets in; a new one only
 * while the month's count is under the limit.
 *
 * Across processes the count is one Redis set per organisation per month, `<prefix>:mau:<org>:<YYYY-MM>`,
 * and the check-and-add is one Lua script (SISMEMBER, SCARD against the limit, SADD), so two
 * processes cannot both admit the 51st user of a Free organisation. Each process seeds the set
 * once per organisation and month from usage_user_days (users counted while no limit applied,
 * or before Redis lost the key) and remembers whom it admitted, so a reconnect costs no round trip.
 * Without Redis the same check runs on this process's memory, seeded from the database: exact
 * with one process, best effort with several (docs/billing.md).
 */
import type { Redis } from "ioredis";
import { Op } from "sequelize";
import type { Database } from "../../../db/index.ts";
import { logger } from "../../logger.ts";

const ADMIT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`;

interface MonthState {
  month: string;
  users: Set<string>;
  seeded: Promise<void>;
}

export interface MauGateOptions {
  db: Database;
  redis: Redis | null;
  prefix: string;
  now?: () => number;
}

/** YYYY-MM of a time, UTC. */
export function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export class MauGate {
  private readonly db: Database;
  private readonly redis: Redis | null;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly months = new Map<string, MonthState>();

  constructor(options: MauGateOptions) {
    this.db = options.db;
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.now = options.now ?? Date.now;
  }

  /** Whether `userId` may connect this month under `limit` (null: no limit), counting them if new. */
  async admit(orgId: string, userId: string, limit: number | null): Promise<boolean> {
    if (limit === null) return true;
    const state = this.stateOf(orgId);
    await state.seeded;
    if (state.users.has(userId)) return true;
    let admitted: boolean;
    if (this.redis) {
      try {
        admitted = (await this.redis.eval(ADMIT, 1, this.key(orgId, state.month), userId, String(limit), String(monthEnd(state.month) + 7 * 24 * 3600 * 1000))) === 1;
      } catch (error) {
        logger.warn("Could not count a monthly active user in Redis; counting in this process", { orgId, error: (error as Error).message });
        admitted = state.users.size < limit;
      }
    } else {
      admitted = state.users.size < limit;
    }
    if (admitted) {
      if (state.users.size >= 1_000_000) state.users.clear();
      state.users.add(userId);
    }
    return admitted;
  }

  private key(orgId: string, month: string): string {
    return `${this.prefix}:mau:${orgId}:${month}`;
  }

  private stateOf(orgId: string): MonthState {
    const month = utcMonth(this.now());
    const existing = this.months.get(orgId);
    if (existing && existing.month === month) return existing;
    const state: MonthState = { month, users: new Set(), seeded: Promise.resolve() };
    state.seeded = this.seed(orgId, state).catch((error: Error) => {
      // Unseeded, users counted earlier this month would need a slot again: retry on the next connect.
      if (this.months.get(orgId) === state) this.months.delete(orgId);
      throw error;
    });
    this.months.set(orgId, state);
    return state;
  }

  /** The month's users so far, from the database, into this process (and the Redis set). */
  private async seed(orgId: string, state: MonthState): Promise<void> {
    const rows = await this.db.models.UsageUserDay.findAll({
      where: { orgId, day: { [Op.gte]: `${state.month}-01`, [Op.lte]: `${state.month}-31` } },
      attributes: ["userId"],
      group: ["userId"],
      raw: true,
    });
    const users = rows.map((r) => r.userId);
    for (const user of users) state.users.add(user);
    if (!this.redis || users.length === 0) return;
    const key = this.key(orgId, state.month);
    try {
      for (let i = 0; i < users.length; i += 1000) await this.redis.sadd(key, ...users.slice(i, i + 1000));
      await this.redis.pexpireat(key, monthEnd(state.month) + 7 * 24 * 3600 * 1000);
    } catch (error) {
      logger.warn("Could not seed the monthly active users in Redis", { orgId, error: (error as Error).message });
    }
  }
}

/** The first millisecond after a YYYY-MM month, UTC. */
function monthEnd(month: string): number {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return Date.UTC(y, m, 1);
}
