/**
 * First joins in the activity feed come in waves (reconnects after a deploy, a class opening one
 * document): a wave is written in batches, so on SQLite it takes a few turns of the process' single
 * writer, not one per join (which queued the update log's appends behind it), and two processes
 * recording the same joins at once still make one row, announced once, per user.
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

describe("activity feed: waves of first joins", () => {
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
    const writer = (db.sequelize as SqliteSequelize).writer;
    let turns = 0;
    const acquire = writer.acquire.bind(writer);
    writer.acquire = () => {
      turns += 1;
      return acquire();
    };
    const results = await Promise.all(USERS.map((user) => services[0]!.recordJoin("org", "room", user)));
    expect(results.every((view) => view !== null)).to.equal(true);
    expect(turns).to.be.at.most(2);
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
});
