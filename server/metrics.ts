/**
 * Prometheus metrics, one Registry per app (several apps share a process in tests). Gauges are
 * read when scraped; counters are incremented by the realtime edges, which take only the
 * `RealtimeMetrics` slice.
 */
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** A counter on the per-message path: a plain number, handed to prom-client when scraped. */
export interface HotCounter {
  inc(value?: number): void;
  readonly value: number;
}

export interface RealtimeMetrics {
  awarenessReceived: HotCounter;
  awarenessApplied: HotCounter;
  awarenessThrottled: HotCounter;
  awarenessRenewals: HotCounter;
  awarenessDroppedNotOwner: HotCounter;
  awarenessDroppedTooMany: HotCounter;
  documentMessagesThrottled: HotCounter;
  connectionsClosed: Counter<"code">;
}

/**
 * prom-client's Counter.inc() allocates (a labels object, a result object) on every call; at
 * tens of thousands of awareness messages a second that is garbage the scavenger has to deal
 * with. A hot counter counts in a number; its metric reads the numbers when scraped.
 */
function hotCounter(): HotCounter {
  const counter = {
    value: 0,
    inc(value = 1) {
      counter.value += value;
    },
  };
  return counter;
}

/** Register a counter metric whose value (per label value) is read from hot counters. */
function reportHot(registry: Registry, name: string, help: string, sources: HotCounter | { label: string; values: Record<string, HotCounter> }): void {
  new Counter({
    name,
    help,
    labelNames: "label" in sources ? [sources.label] : [],
    registers: [registry],
    collect() {
      this.reset();
      if (!("label" in sources)) {
        if (sources.value > 0) this.inc(sources.value);
        return;
      }
      for (const [value, counter] of Object.entries(sources.values)) if (counter.value > 0) this.inc({ [sources.label]: value }, counter.value);
    },
  });
}

export interface MetricSources {
  connections: () => number;
  documents: () => number;
  updateLog: () => { batches: number; updates: number };
}

export interface Metrics {
  registry: Registry;
  realtime: RealtimeMetrics;
}

export interface MetricsOptions {
  /** Add prom-client's process CPU/memory/GC/event-loop metrics (off in tests). */
  defaults?: boolean;
  /**
   * How often the event-loop delay histogram samples, in ms (METRICS_EVENT_LOOP_RESOLUTION_MS).
   * Node's monitorEventLoopDelay does it with a repeating timer that wakes the process every
   * period, busy or not: prom-client's 10 ms is a hundred wake-ups a second, which on an idle server
   * was four fifths of its CPU (≈ 8 ms/s against 1.5 at 100 ms) and, at 1 room × 200 clients, ≈ 4 %
   * of its CPU per delivered update (docs/benchmarks.md). A stall longer than the period always
   * shows; shorter ones show in proportion to how often they happen.
   */
  eventLoopResolutionMs?: number;
}

export const DEFAULT_EVENT_LOOP_RESOLUTION_MS = 100;

/** Create the registry. */
export function createMetrics(sources: MetricSources, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaults) {
    collectDefaultMetrics({
      register: registry,
      prefix: "syncforge_",
      eventLoopMonitoringPrecision: options.eventLoopResolutionMs ?? DEFAULT_EVENT_LOOP_RESOLUTION_MS,
    });
    registerEventLoopUtilization(registry);
  }
  new Gauge({
    name: "syncforge_connections",
    help: "Open document connections (a socket carrying two rooms counts twice)",
    registers: [registry],
    collect() {
      this.set(sources.connections());
    },
  });
  new Gauge({
    name: "syncforge_documents",
    help: "Room documents loaded in this process",
    registers: [registry],
    collect() {
      this.set(sources.documents());
    },
  });
  new Gauge({
    name: "syncforge_update_log_batches",
    help: "Group commits of the document update log since start",
    registers: [registry],
    collect() {
      this.set(sources.updateLog().batches);
    },
  });
  new Gauge({
    name: "syncforge_update_log_updates",
    help: "Document updates written to the update log since start",
    registers: [registry],
    collect() {
      this.set(sources.updateLog().updates);
    },
  });
  const realtime: RealtimeMetrics = {
    awarenessReceived: hotCounter(),
    awarenessApplied: hotCounter(),
    awarenessThrottled: hotCounter(),
    awarenessRenewals: hotCounter(),
    awarenessDroppedNotOwner: hotCounter(),
    awarenessDroppedTooMany: hotCounter(),
    documentMessagesThrottled: hotCounter(),
    connectionsClosed: new Counter({
      name: "syncforge_connections_refused_total",
      help: "Sockets closed by the server for a protocol or limit violation, by close code",
      labelNames: ["code"],
      registers: [registry],
    }),
  };
  reportHot(registry, "syncforge_awareness_updates_received_total", "Awareness messages received from clients", realtime.awarenessReceived);
  reportHot(registry, "syncforge_awareness_updates_applied_total", "Stamped awareness updates applied to room awareness (after coalescing)", realtime.awarenessApplied);
  reportHot(
    registry,
    "syncforge_awareness_updates_throttled_total",
    "Awareness messages held back by the per-connection rate limit (coalesced, latest state kept)",
    realtime.awarenessThrottled,
  );
  reportHot(
    registry,
    "syncforge_awareness_renewals_total",
    "Unchanged awareness states (a provider's 15 s keep-alive) forwarded in the room's once-a-second batch",
    realtime.awarenessRenewals,
  );
  reportHot(registry, "syncforge_awareness_entries_dropped_total", "Awareness entries dropped: another client's id (echoes, spoofing) or too many ids per connection", {
    label: "reason",
    values: { not_owner: realtime.awarenessDroppedNotOwner, too_many_client_ids: realtime.awarenessDroppedTooMany },
  });
  reportHot(
    registry,
    "syncforge_document_messages_throttled_total",
    "Document messages delayed by the per-connection rate limit (none are dropped)",
    realtime.documentMessagesThrottled,
  );
  return { registry, realtime };
}

/** Counters that go nowhere, for edges created outside an app (unit tests, scripts). */
export function createDetachedRealtimeMetrics(): RealtimeMetrics {
  return createMetrics({ connections: () => 0, documents: () => 0, updateLog: () => ({ batches: 0, updates: 0 }) }).realtime;
}

/**
 * The share of time the event loop was busy since the previous scrape (performance
 * .eventLoopUtilization): how close the process is to saturation, read from counters libuv keeps
 * anyway — no timer, nothing on the message path.
 */
function registerEventLoopUtilization(registry: Registry): void {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: "syncforge_event_loop_utilization",
    help: "Share of wall-clock time the event loop was busy since the previous scrape (0–1)",
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, previous).utilization);
      previous = now;
    },
  });
}
