import { expect } from "chai";
import { createMetrics, DEFAULT_EVENT_LOOP_RESOLUTION_MS } from "../../server/metrics.ts";
import { loadConfig } from "../../server/config.ts";

const SOURCES = { connections: () => 0, documents: () => 0, updateLog: () => ({ batches: 0, updates: 0 }) };

/** The value of an unlabelled metric in the registry's text exposition. */
async function value(registry: ReturnType<typeof createMetrics>["registry"], name: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  expect(line, `${name} is exposed`).to.be.a("string");
  return Number(line!.split(" ")[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("metrics: process and event-loop metrics", () => {
  it("samples the event-loop delay at the configured period, 100 ms by default, not prom-client's 10 ms", async () => {
    expect(DEFAULT_EVENT_LOOP_RESOLUTION_MS).to.equal(100);
    expect(loadConfig({ SECRET: "unit-test-secret-unit-test-secret-0123" }).metrics.eventLoopResolutionMs).to.equal(100);
    expect(loadConfig({ SECRET: "unit-test-secret-unit-test-secret-0123", METRICS_EVENT_LOOP_RESOLUTION_MS: "20" }).metrics.eventLoopResolutionMs).to.equal(20);
    expect(() => loadConfig({ SECRET: "unit-test-secret-unit-test-secret-0123", METRICS_EVENT_LOOP_RESOLUTION_MS: "0" })).to.throw(/METRICS_EVENT_LOOP_RESOLUTION_MS/);

    const byDefault = createMetrics(SOURCES, { defaults: true });
    const every20 = createMetrics(SOURCES, { defaults: true, eventLoopResolutionMs: 20 });
    await value(byDefault.registry, "syncforge_nodejs_eventloop_lag_min_seconds"); // resets the histograms
    await value(every20.registry, "syncforge_nodejs_eventloop_lag_min_seconds");
    await sleep(450);
    // Node's histogram records the time between two of its timer's runs: its minimum is the period.
    const defaultMin = await value(byDefault.registry, "syncforge_nodejs_eventloop_lag_min_seconds");
    const min20 = await value(every20.registry, "syncforge_nodejs_eventloop_lag_min_seconds");
    expect(defaultMin).to.be.within(0.095, 0.2);
    expect(min20).to.be.within(0.019, 0.09);
  });

  it("reports the event loop's utilisation since the previous scrape", async () => {
    const { registry } = createMetrics(SOURCES, { defaults: true });
    await value(registry, "syncforge_event_loop_utilization");
    const until = performance.now() + 150;
    while (performance.now() < until) {
      // busy: the loop cannot go idle
    }
    const busy = await value(registry, "syncforge_event_loop_utilization");
    await sleep(300);
    const idle = await value(registry, "syncforge_event_loop_utilization");
    expect(busy).to.be.within(0.8, 1);
    expect(idle).to.be.within(0, 0.3);
  });

  it("leaves the process metrics out when asked (tests)", async () => {
    const { registry } = createMetrics(SOURCES);
    const text = await registry.metrics();
    expect(text).to.not.contain("eventloop");
    expect(text).to.not.contain("event_loop_utilization");
    expect(text).to.contain("syncforge_connections");
  });
});
