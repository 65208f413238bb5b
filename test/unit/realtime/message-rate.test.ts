import { expect } from "chai";
import { MessageRate, MAX_QUEUED_MESSAGES } from "../../../server/realtime/message-rate.ts";
import { createDetachedRealtimeMetrics } from "../../../server/metrics.ts";

function setup(perSecond: number, burst: number) {
  const delivered: number[] = [];
  const socket = { paused: 0, resumed: 0, pause() { this.paused += 1; }, resume() { this.resumed += 1; } };
  let overflows = 0;
  const rate = new MessageRate({
    limits: { perSecond, burst },
    metrics: createDetachedRealtimeMetrics(),
    socket,
    deliver: (m) => delivered.push(m[0]!),
    overflow: () => (overflows += 1),
  });
  return { rate, delivered, socket, overflows: () => overflows };
}

describe("MessageRate: per-socket document message limit", () => {
  it("delivers a burst at once, queues the rest in order, pauses the socket and resumes once drained", async () => {
    const { rate, delivered, socket } = setup(1000, 5);
    for (let i = 0; i < 20; i++) rate.submit(new Uint8Array([i]));
    expect(delivered).to.deep.equal([0, 1, 2, 3, 4]);
    expect(socket.paused).to.equal(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(delivered).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(socket.resumed).to.equal(1);
    rate.stop();
  });

  it("calls overflow once when more than the bounded queue arrives, and stops delivering", () => {
    const { rate, delivered, overflows } = setup(1, 1);
    for (let i = 0; i < MAX_QUEUED_MESSAGES + 10; i++) rate.submit(new Uint8Array([i % 256]));
    expect(overflows()).to.equal(1);
    expect(delivered).to.have.length(1);
    rate.stop();
  });
});
