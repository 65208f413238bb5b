/**
 * The usage meter and report on both databases, with time under the test's control: counts made
 * in memory are written in one flush per table (absolute per-process values, so flushing again
 * never double-counts), hours roll over with the connections still open counted in the new hour,
 * other processes' rows add up, and the daily series carries the running monthly active users.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { createDatabase, type Database } from "../../../../db/index.ts";
import { migrate } from "../../../../db/migrator.ts";
import { ensureTestDatabase, tempSqliteUrl, testDatabaseUrl, truncateAll } from "../../../helpers/database.ts";
import { UsageMeter } from "../../../../server/domain/usage/usage-meter.ts";
import { UsageService } from "../../../../server/domain/usage/usage-service.ts";
import { Entitlements } from "../../../../server/domain/billing/entitlements.ts";

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

for (const dialect of ["postgres", "sqlite"] as const) {
  describe(`usage meter (${dialect})`, () => {
    let db: Database;
    let now: number;
    const meters: UsageMeter[] = [];
    const orgId = randomUUID();

    before(async () => {
      if (dialect === "postgres") await ensureTestDatabase();
      db = createDatabase({ url: dialect === "postgres" ? testDatabaseUrl() : tempSqliteUrl(), poolMax: 2, ssl: false });
      await migrate(db.sequelize);
    });
    beforeEach(async () => {
      if (dialect === "postgres") await truncateAll();
      else {
        await db.models.UsageHour.destroy({ where: {} });
        await db.models.UsageUserDay.destroy({ where: {} });
      }
      // The 3rd of a month, 10:30 UTC.
      now = Date.UTC(2026, 11, 3, 10, 30);
    });
    afterEach(async () => {
      for (const m of meters.splice(0)) await m.close();
    });
    after(() => db.close());

    function meter(instanceId = `sf-${randomUUID()}`): UsageMeter {
      const m = new UsageMeter({ db, instanceId, flushMs: 3_600_000, now: () => now });
      meters.push(m);
      return m;
    }
    function report(m: UsageMeter, granularity: "hour" | "day") {
      const service = new UsageService({ db, meter: m, entitlements: new Entitlements({ db, billingEnabled: false }), clock: () => new Date(now) });
      return service.report(orgId, { granularity, from: new Date(now - (granularity === "hour" ? 3 * HOUR : 3 * DAY)) });
    }

    it("writes per-hour counts once per flush; the next hour starts with the connections still open", async () => {
      const a = meter();
      a.connectionOpened(orgId, "r1", "alice");
      a.connectionOpened(orgId, "r2", "bob");
      a.connectionOpened(orgId, "r2", "bob");
      for (let i = 0; i < 5; i++) a.countMessage(orgId);
      a.countComment(orgId);
      a.connectionClosed(orgId, "r2");
      await a.flush();
      await a.flush();
      now += HOUR;
      a.countNotification(orgId);
      const hours = (await report(a, "hour")).series.slice(-2);
      expect(hours[0]).to.include({ peak_connections: 3, active_rooms: 2, messages: 5, comments: 1, notifications: 0 });
      expect(hours[1]).to.include({ peak_connections: 2, active_rooms: 2, messages: 0, notifications: 1 });
    });

    it("adds up processes, and the daily series carries the month's running active users", async () => {
      const a = meter();
      const b = meter();
      a.connectionOpened(orgId, "r1", "alice");
      b.connectionOpened(orgId, "r1", "bob");
      b.countMessage(orgId);
      a.countMessage(orgId);
      await Promise.all([a.flush(), b.flush()]);
      now += DAY;
      b.connectionOpened(orgId, "r1", "carol");
      a.connectionOpened(orgId, "r2", "alice");
      // b's counts of today are only in its memory until it flushes; a's are flushed by the report.
      const r = await report(a, "day");
      expect(r.current).to.include({ monthly_active_users: 2, connections: 2, messages: 2 });
      const [, yesterday, today] = r.series.slice(-3);
      expect(yesterday).to.include({ active_users: 2, monthly_active_users: 2, messages: 2, peak_connections: 2 });
      expect(today).to.include({ active_users: 1, monthly_active_users: 2 });
      await b.flush();
      const again = await report(a, "day");
      expect(again.current).to.include({ monthly_active_users: 3, connections: 4 });
      expect(again.series.at(-1)).to.include({ active_users: 2, monthly_active_users: 3, peak_connections: 4 });
    });
  });
}
