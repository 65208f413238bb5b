/**
 * The Redis live log when Redis goes away: recording goes on without waiting or throwing, and what
 * was recorded meanwhile is written once Redis is back. Redis is reached through a local TCP relay
 * the test cuts and restores (the real Redis server is shared with other test runs).
 */
import { expect } from "chai";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { LiveLog } from "../../../../server/domain/live-log/live-log.ts";
import { RedisLiveLog } from "../../../../server/domain/live-log/redis-live-log.ts";

interface Relay {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startRelay(target: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let server: net.Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target, "127.0.0.1");
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe("RedisLiveLog while Redis is unreachable", function () {
  this.timeout(30_000);
  let relay: Relay;
  let redis: Redis;

  before(async () => {
    relay = await startRelay(6379);
    redis = new Redis(`redis://127.0.0.1:${relay.port}`, { maxRetriesPerRequest: 2, retryStrategy: () => 100 });
    redis.on("error", () => {});
  });
  after(async () => {
    redis.disconnect();
    await relay.close();
  });

  it("keeps recording without waiting, and writes the entries once Redis is back", async () => {
    const log = new LiveLog(new RedisLiveLog({ redis, prefix: `sf-test-${randomUUID()}`, history: 100 }));
    const orgId = "org-outage";
    log.record({ orgId, kind: "connect", roomId: "r", userId: "before" });
    let kept: Awaited<ReturnType<LiveLog["list"]>> = [];
    for (let i = 0; i < 100 && kept.length === 0; i++) {
      kept = await log.list(orgId, {}, 100);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(kept.map((e) => e.user_id)).to.deep.equal(["before"]);

    await relay.cut();
    // record() returns at once and never throws: the entries wait in the queue.
    for (let i = 0; i < 5; i++) log.record({ orgId, kind: "disconnect", roomId: "r", userId: `during-${i}` });
    let failure: unknown = null;
    await log.list(orgId, {}, 100).catch((error: unknown) => (failure = error));
    expect((failure as { code?: string } | null)?.code).to.equal("live_log_unavailable");
    await new Promise((r) => setTimeout(r, 500));

    await relay.restore();
    let after: Awaited<ReturnType<LiveLog["list"]>> = [];
    const deadline = Date.now() + 15_000;
    while (after.length < 6 && Date.now() < deadline) {
      after = await log.list(orgId, {}, 100).catch(() => []);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after.map((e) => e.user_id)).to.deep.equal(["during-4", "during-3", "during-2", "during-1", "during-0", "before"]);
    await log.close();
  });
});
