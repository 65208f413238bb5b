import { expect } from "chai";
import { UpdateLog } from "../../../../server/domain/documents/update-log.ts";
import type { AppendEntry, DocumentStore } from "../../../../server/domain/documents/document-store.ts";

/** Stands in for the database only: counts INSERTs (append calls) and hands out ids. */
class CountingStore {
  calls: AppendEntry[][] = [];
  nextId = 1;
  failNext = false;
  pending: Array<() => void> = [];
  hold = false;

  async append(entries: AppendEntry[]): Promise<number[]> {
    this.calls.push(entries);
    if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("database unavailable");
    }
    return entries.map(() => this.nextId++);
  }
}

const update = (n: number) => new Uint8Array([n]);

describe("UpdateLog", () => {
  let store: CountingStore;
  let log: UpdateLog;

  beforeEach(() => {
    store = new CountingStore();
    log = new UpdateLog(store as unknown as DocumentStore);
  });

  it("writes every append of one event-loop turn in one INSERT, across documents", async () => {
    const ids = await Promise.all([log.append("a", update(1)), log.append("b", update(2)), log.append("a", update(3))]);
    expect(store.calls).to.have.length(1);
    expect(store.calls[0]!.map((e) => e.documentName)).to.deep.equal(["a", "b", "a"]);
    expect(ids).to.deep.equal([1, 2, 3]);
    expect(log.stats).to.deep.equal({ batches: 1, updates: 3 });
  });

  it("batches the appends made while an INSERT is in flight into the next one", async () => {
    store.hold = true;
    const first = log.append("a", update(1));
    await new Promise((r) => setImmediate(r));
    expect(store.calls).to.have.length(1);
    const later = [log.append("a", update(2)), log.append("a", update(3))];
    await new Promise((r) => setImmediate(r));
    expect(store.calls, "nothing more while the first INSERT runs").to.have.length(1);
    store.hold = false;
    store.pending.shift()!();
    expect(await first).to.equal(1);
    expect(await Promise.all(later)).to.deep.equal([2, 3]);
    expect(store.calls).to.have.length(2);
    expect(store.calls[1]).to.have.length(2);
  });

  it("rejects every append of a failed batch, and carries on with the next", async () => {
    store.failNext = true;
    const failed = await Promise.allSettled([log.append("a", update(1)), log.append("a", update(2))]);
    expect(failed.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
    expect(await log.append("a", update(3))).to.equal(1);
  });

  it("drains: resolves once everything appended so far is committed", async () => {
    let done = 0;
    for (let i = 0; i < 5; i++) void log.append("a", update(i)).then(() => done++);
    await log.drain();
    await Promise.resolve();
    expect(done).to.equal(5);
  });

  it("splits very large turns into batches of at most 500", async () => {
    await Promise.all(Array.from({ length: 1201 }, (_, i) => log.append("a", update(i % 256))));
    expect(store.calls.map((c) => c.length)).to.deep.equal([500, 500, 201]);
  });
});
