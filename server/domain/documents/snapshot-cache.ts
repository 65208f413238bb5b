/**
 * The snapshots this process wrote or read last, kept after their documents unload (least recently
 * used first out, within a byte budget). A room joined again loads with one small read: the
 * database confirms the cached snapshot is still the stored one (same version of the same row) and
 * sends only the log tail, instead of the whole snapshot (DocumentStore.load).
 */

export interface CachedSnapshot {
  state: Uint8Array;
  version: number;
  /** The row's created_at as the driver reads it: tells a row from one recreated after a room deletion. */
  createdAt: unknown;
}

export class SnapshotCache {
  private readonly maxBytes: number;
  private readonly entries = new Map<string, CachedSnapshot>();
  private bytes = 0;
  /** Loads that used a cached snapshot, and loads that read one from the database. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get(name: string): CachedSnapshot | undefined {
    const entry = this.entries.get(name);
    if (entry) {
      this.entries.delete(name);
      this.entries.set(name, entry);
    }
    return entry;
  }

  set(name: string, entry: CachedSnapshot): void {
    this.delete(name);
    if (entry.state.byteLength > this.maxBytes) return;
    this.entries.set(name, entry);
    this.bytes += entry.state.byteLength;
    for (const [oldest, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= old.state.byteLength;
    }
  }

  delete(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    this.bytes -= entry.state.byteLength;
  }

  get size(): number {
    return this.bytes;
  }
}
