/**
 * Admission against the monthly-active-users limit (server/domain/usage/mau-gate.ts): users
 * counted this month always pass, new ones only under the limit; a fresh process seeds from
 * usage_user_days; with Redis, gates of different processes admitting at once never overshoot.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createDatabase, type Database } from "../../../../db/index.ts";
import { migrate } from "../../../../db/migrator.ts";
import { ensureTestDatabase, tempSqliteUrl, testDatabaseUrl } from "../../../helpers/database.ts";
import { MauGate } from "../../../../server/domain/usage/mau-gate.ts";

const NOW = Date.UTC(2026, 11, 4, 12);

for (const dialect of ["postgres", "sqlite"] as const) {
  describe(`monthly active users gate (${dialect})`, () => {
    let db: Database;
    let orgId: string;

    before(async () => {
      if (dialect === "postgres") await ensureTestDatabase();
      db = createDatabase({ url: dialect === "postgres" ? testDatabaseUrl() : tempSqliteUrl(), poolMax: 2, ssl: false });
      await migrate(db.sequelize);
    });
    beforeEach(() => {
      orgId = randomUUID();
    });
    after(() => db.close());

    it("without Redis: counted users pass, new ones only under the limit; a restarted process seeds from the database", async () => {
      const gate = new MauGate({ db, redis: null, prefix: "unused", now: () => NOW });
      expect(await gate.admit(orgId, "alice", 2)).to.equal(true);
      expect(await gate.admit(orgId, "bob", 2)).to.equal(true);
      expect(await gate.admit(orgId, "carol", 2)).to.equal(false);
      expect(await gate.admit(orgId, "alice", 2)).to.equal(true);
      expect(await gate.admit(orgId, "carol", null)).to.equal(true);

      // Earlier this month and last month, as the meter writes them.
      await db.models.UsageUserDay.bulkCreate([
        { orgId, day: "2026-12-01", userId: "dave" },
        { orgId, day: "2026-12-02", userId: "erin" },
        { orgId, day: "2026-11-30", userId: "frank" },
      ]);
      const restarted = new MauGate({ db, redis: null, prefix: "unused", now: () => NOW });
      expect(await restarted.admit(orgId, "dave", 2)).to.equal(true);
      // dave and erin count this month; frank (November) does not, so he needs a free slot.
      expect(await restarted.admit(orgId, "frank", 2)).to.equal(false);
      expect(await restarted.admit(orgId, "frank", 3)).to.equal(true);
      expect(await restarted.admit(orgId, "grace", 3)).to.equal(false);
    });
  });
}

describe("monthly active users gate with Redis", () => {
  let db: Database;
  let redis: Redis;

  before(async () => {
    await ensureTestDatabase();
    db = createDatabase({ url: testDatabaseUrl(), poolMax: 2, ssl: false });
    await migrate(db.sequelize);
    redis = new Redis("redis://127.0.0.1:6379");
  });
  after(async () => {
    redis.disconnect();
    await db.close();
  });

  it("two processes admitting twenty new users at once admit exactly the limit; each then knows its own", async () => {
    const prefix = `sf-test-${randomUUID()}`;
    const orgId = randomUUID();
    const connections = [redis.duplicate(), redis.duplicate()];
    const gates = connections.map((connection) => new MauGate({ db, redis: connection, prefix, now: () => NOW }));
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    const results = await Promise.all(users.map((user, i) => gates[i % 2]!.admit(orgId, user, 5)));
    expect(results.filter(Boolean)).to.have.length(5);
    expect(await redis.scard(`${prefix}:mau:${orgId}:2026-12`)).to.equal(5);
    // An admitted user passes on the other process too; a refused one on neither.
    const admitted = users.filter((_, i) => results[i]);
    const refused = users.filter((_, i) => !results[i]);
    for (const gate of gates) {
      expect(await gate.admit(orgId, admitted[0]!, 5)).to.equal(true);
      expect(await gate.admit(orgId, refused[0]!, 5)).to.equal(false);
    }
    expect(await redis.pttl(`${prefix}:mau:${orgId}:2026-12`)).to.be.above(0);
    await redis.del(`${prefix}:mau:${orgId}:2026-12`);
    for (const connection of connections) connection.disconnect();
  });
});
