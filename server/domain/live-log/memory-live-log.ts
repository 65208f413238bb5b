/**
 * The live log of one process (no REDIS_URL): a ring buffer of the newest `history` entries per
 * organisation and in-process subscribers. Ids are `<ms>-<seq>` like Redis stream ids, increasing
 * in this process even if the clock steps back.
 */
import { makeEventSource, type EventSource, type Unsubscribe } from "../event-source.ts";
import { logger } from "../../logger.ts";
import { compareEntryIds, type LiveLogBackend, type LiveLogEntry, type PendingEntry } from "./live-log.ts";

class Ring {
  private readonly items: LiveLogEntry[] = [];
  private start = 0;
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(entry: LiveLogEntry): void {
    if (this.items.length < this.capacity) {
      this.items.push(entry);
      return;
    }
    this.items[this.start] = entry;
    this.start = (this.start + 1) % this.capacity;
  }

  /** Newest first, stopping at (excluding) `after`. */
  newest(after: string | null): LiveLogEntry[] {
    const out: LiveLogEntry[] = [];
    for (let i = this.items.length - 1; i >= 0; i--) {
      const entry = this.items[(this.start + i) % this.items.length]!;
      if (after !== null && compareEntryIds(entry.id, after) <= 0) break;
      out.push(entry);
    }
    return out;
  }
}

export class MemoryLiveLog implements LiveLogBackend {
  private readonly history: number;
  private readonly rings = new Map<string, Ring>();
  private readonly sources = new Map<string, EventSource<LiveLogEntry>>();
  private lastMs = 0;
  private seq = 0;

  constructor(options: { history: number }) {
    this.history = options.history;
  }

  append(pending: PendingEntry): void {
    const entry: LiveLogEntry = { id: this.nextId(), ...pending };
    let ring = this.rings.get(entry.org_id);
    if (!ring) {
      ring = new Ring(this.history);
      this.rings.set(entry.org_id, ring);
    }
    ring.push(entry);
    this.sources.get(entry.org_id)?.notify(entry);
  }

  async newest(orgId: string, after: string | null): Promise<LiveLogEntry[]> {
    return this.rings.get(orgId)?.newest(after) ?? [];
  }

  async subscribe(orgId: string, listener: (entry: LiveLogEntry) => void): Promise<Unsubscribe> {
    let source = this.sources.get(orgId);
    if (!source) {
      source = makeEventSource<LiveLogEntry>((error) => logger.warn("A live log subscriber failed", { orgId, error: (error as Error).message }));
      this.sources.set(orgId, source);
    }
    const unsubscribe = source.subscribe(listener);
    const owner = source;
    return () => {
      unsubscribe();
      if (owner.count() === 0 && this.sources.get(orgId) === owner) this.sources.delete(orgId);
    };
  }

  async close(): Promise<void> {
    this.sources.clear();
  }

  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq += 1;
    }
    return `${this.lastMs}-${this.seq}`;
  }
}
