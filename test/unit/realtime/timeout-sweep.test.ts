import { expect } from "chai";
import { TimeoutSweep, type TimedSocket } from "../../../server/realtime/timeout-sweep.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A socket that records when it was asked, and leaves the sweep on its `leaveAfter`-th check. */
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
  it("asks every socket about every tenth of the timeout, and stops asking one that left", async () => {
    const sweep = new TimeoutSweep(200);
    const a = socket(sweep);
    const b = socket(sweep);
    sweep.add(a);
    sweep.add(b);
    await sleep(130);
    expect(a.checks.length, "at most six checks in 130 ms at 20 ms").to.be.within(1, 6);
    expect(b.checks.length).to.equal(a.checks.length);
    sweep.delete(a);
    const asked = a.checks.length;
    await sleep(60);
    expect(a.checks.length, "a socket that left").to.equal(asked);
    expect(b.checks.length, "the other one still").to.be.greaterThan(asked);
    sweep.delete(b);
  });

  it("lets a socket leave while the sweep asks it (closed by its own check) without skipping the others", async () => {
    const sweep = new TimeoutSweep(100);
    const leaving = socket(sweep, 1);
    const staying = socket(sweep);
    sweep.add(leaving);
    sweep.add(staying);
    await sleep(80);
    expect(leaving.checks.length).to.equal(1);
    expect(staying.checks.length).to.be.at.least(2);
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
    await sleep(60);
    expect(next.checks.length).to.be.at.least(1);
    sweep.delete(next);
  });
});
