import { expect } from "chai";
import { WriterQueue } from "../../../db/sqlite-sequelize.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("WriterQueue (SQLite's one writer per process)", () => {
  it("runs one turn at a time, in arrival order, and goes on after a turn that failed", async () => {
    const queue = new WriterQueue(1000);
    const order: string[] = [];
    let running = 0;
    const gate = deferred();
    const turn = (name: string, fail = false) =>
      queue.run(async () => {
        running += 1;
        expect(running).to.equal(1);
        order.push(name);
        if (name === "a") await gate.promise;
        running -= 1;
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const a = turn("a");
    const b = turn("b", true);
    const c = turn("c");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).to.deep.equal(["a"]);
    gate.resolve();
    expect(await a).to.equal("a");
    await b.then(
      () => expect.fail("b should fail"),
      (error: Error) => expect(error.message).to.equal("b failed"),
    );
    expect(await c).to.equal("c");
    expect(order).to.deep.equal(["a", "b", "c"]);
  });

  it("gives up on a turn that does not come in time, and leaves the queue usable", async () => {
    const queue = new WriterQueue(30);
    const release = await queue.acquire();
    let ran = false;
    const late = queue.run(async () => {
      ran = true;
    });
    await late.then(
      () => expect.fail("should time out"),
      (error: Error) => expect(error.message).to.match(/^SQLITE_BUSY: no turn to write within 30 ms/),
    );
    release();
    release(); // a second call does nothing
    expect(ran).to.equal(false);
    expect(await queue.run(async () => "next")).to.equal("next");
  });

  it("lets urgent turns (the update log) go before waiting ordinary ones, in their own order", async () => {
    const queue = new WriterQueue(1000);
    const release = await queue.acquire();
    const order: string[] = [];
    const turn = (name: string, urgent = false) => queue.run(async () => void order.push(name), urgent);
    const all = [turn("compaction 1"), turn("log 1", true), turn("activity"), turn("log 2", true)];
    release();
    await Promise.all(all);
    expect(order).to.deep.equal(["log 1", "log 2", "compaction 1", "activity"]);
  });

  it("keeps the order right when an urgent turn times out while waiting", async () => {
    const queue = new WriterQueue(30);
    const release = await queue.acquire();
    const late = queue.run(async () => "late urgent", true).catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const order: string[] = [];
    const next = [queue.run(async () => void order.push("ordinary")), queue.run(async () => void order.push("urgent"), true)];
    release();
    await Promise.all(next);
    expect(await late).to.match(/^SQLITE_BUSY/);
    expect(order).to.deep.equal(["urgent", "ordinary"]);
  });

  it("lets an ordinary turn in after a few urgent ones in a row, so a steady stream of urgent turns starves nothing", async () => {
    const queue = new WriterQueue(1000);
    const release = await queue.acquire();
    const order: string[] = [];
    const all: Promise<unknown>[] = [queue.run(async () => void order.push("compaction"))];
    for (let i = 1; i <= 6; i++) all.push(queue.run(async () => void order.push(`log ${i}`), true));
    release();
    await Promise.all(all);
    expect(order).to.deep.equal(["log 1", "log 2", "log 3", "log 4", "compaction", "log 5", "log 6"]);
  });
});

