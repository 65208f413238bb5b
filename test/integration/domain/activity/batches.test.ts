/**
 * The activity feed's writes come in waves (first joins after a deploy's reconnects, edit counts of
 * every active editor every flush): each wave is written in batches, so on SQLite it takes a few
 * turns of the process' single writer, not one per row (which queued the update log's appends, and
 * every broadcast waiting on them, behind it); two processes recording the same joins at once still
 * make one row, announced once, per user.
 */
import { expect } from "chai";
import { createDatabase, type Database } from "../../../../db/index.ts";
import { migrate } from "../../../../db/migrator.ts";
import { SqliteSequelize } from "../../../../db/sqlite-sequelize.ts";
import { ActivityService } from "../../../../server/domain/activity/activity-service.ts";
import { ensureTestDatabase, tempSqliteUrl, testDatabaseUrl, truncateAll } from "../../../helpers/database.ts";

const USERS = Array.from({ length: 300 }, (_, i) => `user-${i}`);

function announcedJoins(pushed: Record<string, unknown>[]): string[] {
  return pushed
    .map((m) => m.activity as { kind: string; actorId: string })
    .filter((a) => a.kind === "user_joined_first_time")
    .map((a) => a.actorId);
}

function countWriterTurns(db: Database): { turns: number } {
  const writer = (db.sequelize as SqliteSequelize).writer;
  const counter = { turns: 0 };
  const acquire = writer.acquire.bind(writer);
  writer.acquire = () => {
    counter.turns += 1;
    return acquire();
  };
  return counter;
}

describe("activity feed: waves of writes", () => {
  const open: { db: Database; services: ActivityService[] }[] = [];

  afterEach(async () => {
    for (const { db, services } of open.splice(0)) {
      for (const service of services) await service.close();
      await db.close();
    }
  });

  async function setUp(url: string, processes: number) {
    const db = createDatabase({ url, poolMax: 4, ssl: false });
    await migrate(db.sequelize);
    const pushed: Record<string, unknown>[] = [];
    const services = Array.from({ length: processes }, () => new ActivityService({ db, push: (_org, _room, message) => pushed.push(message) }));
    open.push({ db, services });
    return { db, services, pushed };
  }

  it("writes a wave of 300 joins on SQLite in a few turns of the writer, each user once", async () => {
    const { db, services, pushed } = await setUp(tempSqliteUrl(), 1);
    const writer = countWriterTurns(db);
    const results = await Promise.all(USERS.map((user) => services[0]!.recordJoin("org", "room", user)));
    expect(results.every((view) => view !== null)).to.equal(true);
    expect(writer.turns).to.be.at.most(2);
    expect(await Promise.all(USERS.slice(0, 10).map((user) => services[0]!.recordJoin("org", "room", user)))).to.deep.equal(Array(10).fill(null));
    expect(await db.models.RoomActivity.count({ where: { kind: "user_joined_first_time" } })).to.equal(USERS.length);
    expect(announcedJoins(pushed).sort()).to.deep.equal([...USERS].sort());
  });

  for (const dialect of ["sqlite", "postgres"] as const) {
    it(`makes one row and one announcement per user when two processes record the same wave (${dialect})`, async () => {
      let url = tempSqliteUrl();
      if (dialect === "postgres") {
        url = testDatabaseUrl();
        await ensureTestDatabase(url);
        await truncateAll(url);
      }
      const { db, services, pushed } = await setUp(url, 2);
      const results = await Promise.all(services.flatMap((service) => USERS.map((user) => service.recordJoin("org", "room", user))));
      expect(results.filter((view) => view !== null)).to.have.length(USERS.length);
      expect(await db.models.RoomActivity.count({ where: { kind: "user_joined_first_time" } })).to.equal(USERS.length);
      expect(announcedJoins(pushed).sort()).to.deep.equal([...USERS].sort());
    });
  }

  it("adds every editor's counts of a flush on SQLite in one turn of the writer", async () => {
    const { db, services, pushed } = await setUp(tempSqliteUrl(), 1);
    const activity = services[0]!;
    const editors = USERS.slice(0, 50);
    for (const [i, user] of editors.entries()) activity.recordEdit("org", `room-${i}`, user);
    for (let i = 0; i < 200 && (await db.models.RoomActivity.count({ where: { kind: "document_edited" } })) < editors.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const [i, user] of editors.entries()) for (let n = 0; n < 2; n++) activity.recordEdit("org", `room-${i}`, user);
    const writer = countWriterTurns(db);
    await activity.flush();
    expect(writer.turns).to.equal(1);
    const rows = await db.models.RoomActivity.findAll({ where: { kind: "document_edited" } });
    expect(rows.map((row) => row.count)).to.deep.equal(Array(editors.length).fill(3));
    const updated = pushed.filter((m) => m.type === "sf:activity_updated").map((m) => m.activity as { actorId: string; count: number });
    expect(updated.map((a) => a.actorId).sort()).to.deep.equal([...editors].sort());
    expect(updated.every((a) => a.count === 3)).to.equal(true);
  });

  it("the timer's flushes take each editor's count at its own phase within the period, and a past window's at once", async () => {
    const db = createDatabase({ url: tempSqliteUrl(), poolMax: 4, ssl: false });
    await migrate(db.sequelize);
    const pushed: Record<string, unknown>[] = [];
    let now = 60_000 * 1000;
    const activity = new ActivityService({ db, push: (_org, _room, message) => pushed.push(message), windowMs: 60_000, flushMs: 15_000, now: () => now });
    open.push({ db, services: [activity] });
    const editors = USERS.slice(0, 40);
    for (const [i, user] of editors.entries()) activity.recordEdit("org", `room-${i}`, user);
    for (let i = 0; i < 200 && (await db.models.RoomActivity.count({ where: { kind: "document_edited" } })) < editors.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const [i, user] of editors.entries()) activity.recordEdit("org", `room-${i}`, user);
    const updatedNow = () => pushed.filter((m) => m.type === "sf:activity_updated").length;
    // Four ticks of a second: each takes only the counters whose phase has come, not all of them.
    const perTick: number[] = [];
    for (let tick = 0; tick < 4; tick++) {
      now += 1000;
      const before = updatedNow();
      await activity.flush({ dueOnly: true });
      perTick.push(updatedNow() - before);
    }
    expect(perTick.reduce((a, b) => a + b, 0), `per tick: ${perTick.join(", ")}`).to.be.lessThan(editors.length);
    // Within one period every counter has come due.
    now += 15_000;
    await activity.flush({ dueOnly: true });
    expect(updatedNow()).to.equal(editors.length);
    // A count of a window that has passed is written at the next tick, due or not.
    activity.recordEdit("org", "room-0", editors[0]!);
    now += 60_000;
    await activity.flush({ dueOnly: true });
    expect(updatedNow()).to.equal(editors.length + 1);
    const row = await db.models.RoomActivity.findOne({ where: { kind: "document_edited", actorId: editors[0]! } });
    expect(row?.count).to.equal(3);
  });
});
