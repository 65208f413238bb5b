import { expect } from "chai";
import { TimeoutSweep, type TimedSocket } from "../../../server/realtime/timeout-sweep.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until `predicate` holds (a busy machine may delay a sweep; nothing here depends on its pace). */
async function until(predicate: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A socket that records the `now` of every check, and leaves the sweep on its `leaveAfter`-th check. */
function socket(sweep: TimeoutSweep, leaveAfter = Number.POSITIVE_INFINITY): TimedSocket & { checks: number[] } {
  const s = {
    checks: [] as number[],
    checkTimeout(now: number) {
      s.checks.push(now);
      if (s.checks.length >= leaveAfter) sweep.delete(s);
    },
  };
  return s;
}

describe("TimeoutSweep: the socket edge's timeouts on one timer", () => {
  it("asks every socket on each sweep, and stops asking one that left", async () => {
    const sweep = new TimeoutSweep(200);
    const a = socket(sweep);
    const b = socket(sweep);
    sweep.add(a);
    sweep.add(b);
    await until(() => a.checks.length >= 2, "two sweeps");
    expect(b.checks.slice(0, 2), "the same sweeps").to.deep.equal(a.checks.slice(0, 2));
    sweep.delete(a);
    const asked = a.checks.length;
    const bAsked = b.checks.length;
    await until(() => b.checks.length >= bAsked + 2, "two more sweeps");
    expect(a.checks.length, "a socket that left").to.equal(asked);
    sweep.delete(b);
  });

  it("lets a socket leave while the sweep asks it (closed by its own check) without skipping the others", async () => {
    const sweep = new TimeoutSweep(100);
    const leaving = socket(sweep, 1);
    const staying = socket(sweep);
    sweep.add(leaving);
    sweep.add(staying);
    await until(() => staying.checks.length >= 2, "two sweeps");
    expect(leaving.checks).to.have.length(1);
    expect(staying.checks[0], "asked in the sweep its neighbour left in").to.equal(leaving.checks[0]);
    sweep.delete(staying);
  });

  it("runs no timer once every socket has left, and starts again for the next one", async () => {
    const sweep = new TimeoutSweep(100);
    const first = socket(sweep);
    sweep.add(first);
    sweep.delete(first);
    await sleep(40);
    expect(first.checks, "never asked: its sweep stopped before the first tick").to.deep.equal([]);
    const next = socket(sweep);
    sweep.add(next);
    await until(() => next.checks.length >= 1, "a sweep for the next socket");
    sweep.delete(next);
  });
});
