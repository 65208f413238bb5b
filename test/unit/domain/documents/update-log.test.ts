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
    if (this.failNext) {
      this.failNext = false;
      throw new Error("database unavailable");
    }
    // Ids are taken when the INSERT runs, as a database does, whenever it then commits.
    const ids = entries.map(() => this.nextId++);
    if (this.hold) await new Promise<void>((resolve) => this.pending.push(resolve));
    return ids;
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

  it("sends the next turn's appends while an INSERT is in flight, and counts them durable in order", async () => {
    store.hold = true;
    const committed: number[] = [];
    log.onCommitted((durable) => committed.push(durable));
    const first = log.append("a", update(1));
    await new Promise((r) => setImmediate(r));
    const later = [log.append("a", update(2)), log.append("a", update(3))];
    await new Promise((r) => setImmediate(r));
    expect(store.calls.map((c) => c.length), "the second INSERT does not wait for the first").to.deep.equal([1, 2]);
    // The second commits first: nothing is durable until the first has too.
    store.pending[1]!();
    await new Promise((r) => setImmediate(r));
    expect(log.durable).to.equal(0);
    expect(committed).to.deep.equal([]);
    store.pending[0]!();
    expect(await first).to.equal(1);
    expect(await Promise.all(later)).to.deep.equal([2, 3]);
    expect(log.durable).to.equal(3);
    expect(committed).to.deep.equal([3]);
  });

  it("keeps at most maxInFlight INSERTs in flight; the rest wait in one batch", async () => {
    log = new UpdateLog(store as unknown as DocumentStore, { maxInFlight: 1 });
    store.hold = true;
    const first = log.append("a", update(1));
    await new Promise((r) => setImmediate(r));
    const later = [log.append("a", update(2)), log.append("a", update(3))];
    await new Promise((r) => setImmediate(r));
    expect(store.calls, "nothing more while the first INSERT runs").to.have.length(1);
    store.hold = false;
    store.pending.shift()!();
    expect(await first).to.equal(1);
    expect(await Promise.all(later)).to.deep.equal([2, 3]);
    expect(store.calls.map((c) => c.length)).to.deep.equal([1, 2]);
  });

  it("retries a failed batch until it commits, and numbers what is durable in order", async () => {
    log = new UpdateLog(store as unknown as DocumentStore, { retryDelayMs: () => 5 });
    const committed: number[] = [];
    log.onCommitted((durable) => committed.push(durable));
    store.failNext = true;
    const first = [log.append("a", update(1)), log.append("a", update(2))];
    expect(log.appended).to.equal(2);
    expect(log.durable).to.equal(0);
    expect(await Promise.all(first)).to.deep.equal([1, 2]);
    expect(store.calls, "the failed INSERT, then the same batch again").to.have.length(2);
    expect(store.calls[1]!.map((e) => e.data[0])).to.deep.equal([1, 2]);
    expect(log.durable).to.equal(2);
    expect(log.failures).to.equal(0);
    expect(await log.append("a", update(3))).to.equal(3);
    expect(committed).to.deep.equal([2, 3]);
  });

  it("whenDurable resolves once every append up to a number has committed", async () => {
    store.hold = true;
    void log.append("a", update(1));
    const order: string[] = [];
    const nothing = log.whenDurable(0).then(() => order.push("nothing to wait for"));
    const first = log.whenDurable().then(() => order.push("first"));
    await nothing;
    await new Promise((r) => setImmediate(r));
    void log.append("a", update(2));
    const second = log.whenDurable().then(() => order.push("second"));
    store.hold = false;
    store.pending.shift()!();
    await first;
    expect(order).to.deep.equal(["nothing to wait for", "first"]);
    await second;
    expect(order).to.deep.equal(["nothing to wait for", "first", "second"]);
  });

  it("keeps appends made while a batch is failing behind it", async () => {
    log = new UpdateLog(store as unknown as DocumentStore, { retryDelayMs: () => 20 });
    store.failNext = true;
    const first = log.append("a", update(1));
    await new Promise((r) => setTimeout(r, 5));
    expect(log.failures).to.equal(1);
    const second = log.append("a", update(2));
    expect(await first).to.equal(1);
    expect(await second).to.equal(2);
    expect(log.durable).to.equal(2);
  });

  it("drains: resolves once everything appended so far is committed", async () => {
    let done = 0;
    for (let i = 0; i < 5; i++) void log.append("a", update(i)).then(() => done++);
    await log.drain();
    await Promise.resolve();
    expect(done).to.equal(5);
  });

  it("splits very large turns into batches of at most maxBatch", async () => {
    log = new UpdateLog(store as unknown as DocumentStore, { maxBatch: 500 });
    await Promise.all(Array.from({ length: 1201 }, (_, i) => log.append("a", update(i % 256))));
    expect(store.calls.map((c) => c.length)).to.deep.equal([500, 500, 201]);
  });
});
