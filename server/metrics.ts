/**
 * Prometheus metrics, one Registry per app (several apps share a process in tests). Gauges are
 * read when scraped; counters are incremented by the realtime edges, which take only the
 * `RealtimeMetrics` slice.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export interface RealtimeMetrics {
  awarenessReceived: Counter;
  awarenessApplied: Counter;
  awarenessThrottled: Counter;
  awarenessRenewals: Counter;
  /** Bound to their label once: on the echo path a labelled inc() per entry would cost more than the check. */
  awarenessDroppedNotOwner: { inc(value?: number): void };
  awarenessDroppedTooMany: { inc(value?: number): void };
  documentMessagesThrottled: Counter;
  connectionsClosed: Counter<"code">;
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

/** Create the registry; `defaults` adds process CPU/memory/event-loop metrics (off in tests). */
export function createMetrics(sources: MetricSources, options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: "syncforge_" });
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
  const awarenessDropped = new Counter({
    name: "syncforge_awareness_entries_dropped_total",
    help: "Awareness entries dropped: another client's id (echoes, spoofing) or too many ids per connection",
    labelNames: ["reason"],
    registers: [registry],
  });
  const realtime: RealtimeMetrics = {
    awarenessReceived: new Counter({
      name: "syncforge_awareness_updates_received_total",
      help: "Awareness messages received from clients",
      registers: [registry],
    }),
    awarenessApplied: new Counter({
      name: "syncforge_awareness_updates_applied_total",
      help: "Stamped awareness updates applied to room awareness (after coalescing)",
      registers: [registry],
    }),
    awarenessThrottled: new Counter({
      name: "syncforge_awareness_updates_throttled_total",
      help: "Awareness messages held back by the per-connection rate limit (coalesced, latest state kept)",
      registers: [registry],
    }),
    awarenessRenewals: new Counter({
      name: "syncforge_awareness_renewals_total",
      help: "Unchanged awareness states (a provider's 15 s keep-alive) forwarded in the room's once-a-second batch",
      registers: [registry],
    }),
    awarenessDroppedNotOwner: awarenessDropped.labels("not_owner"),
    awarenessDroppedTooMany: awarenessDropped.labels("too_many_client_ids"),
    documentMessagesThrottled: new Counter({
      name: "syncforge_document_messages_throttled_total",
      help: "Document messages delayed by the per-connection rate limit (none are dropped)",
      registers: [registry],
    }),
    connectionsClosed: new Counter({
      name: "syncforge_connections_refused_total",
      help: "Sockets closed by the server for a protocol or limit violation, by close code",
      labelNames: ["code"],
      registers: [registry],
    }),
  };
  return { registry, realtime };
}

/** Counters that go nowhere, for edges created outside an app (unit tests, scripts). */
export function createDetachedRealtimeMetrics(): RealtimeMetrics {
  return createMetrics({ connections: () => 0, documents: () => 0, updateLog: () => ({ batches: 0, updates: 0 }) }).realtime;
}
