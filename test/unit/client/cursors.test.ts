import { expect } from "chai";
import {
  colorForUser,
  createCursorTracker,
  interpolatePoint,
  isSettled,
  lerp,
  positionAt,
  retarget,
  MAX_SEGMENT_MS,
  MIN_SEGMENT_MS,
  type FrameScheduler,
} from "../../../client/core/cursors.ts";
import { colorForUser as serverColorForUser } from "../../../server/realtime/awareness.ts";

describe("client cursors: interpolation math", () => {
  it("lerp and interpolatePoint walk a straight line and clamp progress to 0..1", () => {
    expect(lerp(10, 20, 0.25)).to.equal(12.5);
    expect(interpolatePoint({ x: 0, y: 0 }, { x: 100, y: -50 }, 0.5)).to.deep.equal({ x: 50, y: -25 });
    expect(interpolatePoint({ x: 0, y: 0 }, { x: 100, y: 100 }, -1)).to.deep.equal({ x: 0, y: 0 });
    expect(interpolatePoint({ x: 0, y: 0 }, { x: 100, y: 100 }, 7)).to.deep.equal({ x: 100, y: 100 });
  });

  it("shows the first position where it is, then glides over the gap between updates", () => {
    const first = retarget(null, { x: 10, y: 10 }, 1000);
    expect(positionAt(first, 1000)).to.deep.equal({ x: 10, y: 10 });
    expect(isSettled(first, 1000)).to.equal(true);

    // The next update arrives 100 ms later: the segment lasts 100 ms (the sender's pace).
    const second = retarget(first, { x: 110, y: 10 }, 1100);
    expect(second.durationMs).to.equal(100);
    expect(positionAt(second, 1100)).to.deep.equal({ x: 10, y: 10 });
    expect(positionAt(second, 1150)).to.deep.equal({ x: 60, y: 10 });
    expect(positionAt(second, 1200)).to.deep.equal({ x: 110, y: 10 });
    expect(isSettled(second, 1150)).to.equal(false);
    expect(isSettled(second, 1200)).to.equal(true);
  });

  it("starts a new segment from the drawn point, so the cursor never jumps back", () => {
    const a = retarget(null, { x: 0, y: 0 }, 0);
    const b = retarget(a, { x: 100, y: 0 }, 100); // 100 ms segment from (0,0)
    const c = retarget(b, { x: 100, y: 100 }, 150); // halfway through b
    expect(c.from).to.deep.equal({ x: 50, y: 0 });
    expect(c.durationMs).to.equal(50);
    expect(positionAt(c, 175)).to.deep.equal({ x: 75, y: 50 });
  });

  it("clamps segment durations (a long pause does not make a slow crawl)", () => {
    const a = retarget(null, { x: 0, y: 0 }, 0);
    expect(retarget(a, { x: 1, y: 1 }, 10_000).durationMs).to.equal(MAX_SEGMENT_MS);
    expect(retarget(a, { x: 1, y: 1 }, 1).durationMs).to.equal(MIN_SEGMENT_MS);
  });

  it("gives every user a stable colour from their id, the one the server stamps", () => {
    expect(colorForUser("alice")).to.equal(colorForUser("alice"));
    expect(colorForUser("alice")).to.match(/^#[0-9A-F]{6}$/);
    for (const id of ["alice", "bob", "user-42", "ü", ""]) expect(colorForUser(id)).to.equal(serverColorForUser(id));
  });

  it("the tracker renders interpolated frames and keeps the same snapshot when nothing moves", () => {
    let now = 0;
    const queued: Array<() => void> = [];
    const frames: FrameScheduler = { request: (cb) => queued.push(cb), cancel: () => undefined };
    const tracker = createCursorTracker({ now: () => now, frames });
    const meta = { connectionId: 7, userId: "u", name: "U", color: "#000000" };
    tracker.update([{ ...meta, pointer: { x: 0, y: 0 } }]);
    const first = tracker.get();
    expect(first).to.have.length(1);
    expect(first[0]).to.include({ x: 0, y: 0, name: "U" });
    tracker.update([{ ...meta, pointer: { x: 0, y: 0 } }]);
    expect(tracker.get()).to.equal(first);

    now = 100;
    tracker.update([{ ...meta, pointer: { x: 200, y: 0 } }]);
    expect(tracker.get()[0]).to.include({ x: 0 });
    now = 150;
    queued.shift()!();
    expect(tracker.get()[0]).to.include({ x: 100 });
    now = 250;
    queued.shift()!();
    expect(tracker.get()[0]).to.include({ x: 200 });
    expect(queued).to.have.length(0); // settled: no more frames

    tracker.update([{ ...meta, pointer: null }]);
    expect(tracker.get()).to.deep.equal([]);
    tracker.destroy();
  });
});
