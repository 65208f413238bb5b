import { expect } from "chai";
import { clampThrottle, createThrottler, throttleDelay } from "../../../client/core/throttle.ts";
import { readTokenClaims, refreshDelay } from "../../../client/core/token.ts";
import { makeEventSource } from "../../../client/core/event-source.ts";

describe("client throttle, token timing and event source", () => {
  it("throttleDelay sends at once, then waits out the rest of the interval", () => {
    expect(throttleDelay(null, 1000, 100)).to.equal(0);
    expect(throttleDelay(1000, 1030, 100)).to.equal(70);
    expect(throttleDelay(1000, 1100, 100)).to.equal(0);
    expect(throttleDelay(1000, 900, 100)).to.equal(100);
  });

  it("clamps the interval to Liveblocks' 16–1000 ms with 100 ms by default", () => {
    expect(clampThrottle(undefined)).to.equal(100);
    expect(clampThrottle(1)).to.equal(16);
    expect(clampThrottle(5000)).to.equal(1000);
    expect(clampThrottle(50)).to.equal(50);
  });

  it("a throttler runs the first call, coalesces a burst, and always sends the last state", async () => {
    let runs = 0;
    const t = createThrottler(() => runs++, 30);
    t.schedule();
    t.schedule();
    t.schedule();
    expect(runs).to.equal(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).to.equal(2);
    t.schedule();
    t.flush();
    t.cancel();
  });

  it("refreshes tokens at 80% of their lifetime, measured from the token itself", () => {
    expect(refreshDelay({ issuedAt: 1000, expiresAt: 1100 }, 1000_000)).to.equal(80_000);
    // A token that has already lived half its life: refresh at 80% of what is left.
    expect(refreshDelay({ issuedAt: 1000, expiresAt: 1100 }, 1050_000)).to.equal(40_000);
    expect(refreshDelay({ issuedAt: 1000, expiresAt: 1100 }, 1200_000)).to.equal(0);
    expect(refreshDelay({ issuedAt: null, expiresAt: null }, 0)).to.equal(null);
  });

  it("reads a JWT's claims without verifying it", () => {
    const payload = Buffer.from(JSON.stringify({ sub: "ü-1", org: "o", info: { name: "Zoë" }, iat: 1, exp: 2 })).toString("base64url");
    const claims = readTokenClaims(`x.${payload}.y`);
    expect(claims).to.deep.equal({ userId: "ü-1", orgId: "o", info: { name: "Zoë" }, permissions: {}, issuedAt: 1, expiresAt: 2 });
    expect(readTokenClaims("garbage")).to.equal(null);
  });

  it("the event source notifies in order and unsubscribes", async () => {
    const source = makeEventSource<number>();
    const seen: number[] = [];
    const off = source.subscribe((v) => seen.push(v));
    const waited = source.waitUntil((v) => v > 1);
    source.notify(1);
    source.notify(2);
    off();
    source.notify(3);
    expect(seen).to.deep.equal([1, 2]);
    expect(await waited).to.equal(2);
    expect(source.count()).to.equal(0);
  });
});
