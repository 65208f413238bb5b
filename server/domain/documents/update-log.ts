/**
 * Group commit for the update log. Every append made in one event-loop turn (across all rooms)
 * goes to the database as one INSERT; appends made while that INSERT is in flight form the next
 * one. The database is hit once per turn, not once per keystroke, and each caller learns when its
 * update is durable.
 */
import type { DocumentStore } from "./document-store.ts";

interface Pending {
  documentName: string;
  data: Uint8Array;
  resolve: (id: number) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 500;

export class UpdateLog {
  private readonly store: DocumentStore;
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;
  /** Counters for metrics: batches written and updates in them. */
  stats = { batches: 0, updates: 0 };

  constructor(store: DocumentStore) {
    this.store = store;
  }

  append(documentName: string, data: Uint8Array): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ documentName, data, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything appended so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing || this.scheduled) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const ids = await this.store.append(batch);
        this.stats.batches += 1;
        this.stats.updates += batch.length;
        batch.forEach((p, i) => p.resolve(ids[i]!));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }
}
