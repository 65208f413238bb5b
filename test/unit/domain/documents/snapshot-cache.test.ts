import { expect } from "chai";
import { SnapshotCache } from "../../../../server/domain/documents/snapshot-cache.ts";

const entry = (bytes: number, version = 1) => ({ state: new Uint8Array(bytes), version, createdAt: null });

describe("SnapshotCache", () => {
  it("keeps the most recently used snapshots within its byte budget", () => {
    const cache = new SnapshotCache(100);
    cache.set("a", entry(40));
    cache.set("b", entry(40));
    expect(cache.get("a")?.state.byteLength).to.equal(40); // a is now the most recent
    cache.set("c", entry(40)); // over budget: b, the least recently used, goes
    expect(cache.get("b")).to.equal(undefined);
    expect(cache.get("a")).to.not.equal(undefined);
    expect(cache.get("c")).to.not.equal(undefined);
    expect(cache.size).to.equal(80);
  });

  it("replaces a document's entry, and keeps nothing larger than the budget", () => {
    const cache = new SnapshotCache(100);
    cache.set("a", entry(40, 1));
    cache.set("a", entry(60, 2));
    expect(cache.get("a")?.version).to.equal(2);
    expect(cache.size).to.equal(60);
    cache.set("a", entry(101, 3));
    expect(cache.get("a")).to.equal(undefined);
    expect(cache.size).to.equal(0);
    const off = new SnapshotCache(0);
    off.set("a", entry(1));
    expect(off.get("a")).to.equal(undefined);
  });

  it("forgets a deleted document", () => {
    const cache = new SnapshotCache(100);
    cache.set("a", entry(10));
    cache.delete("a");
    cache.delete("missing");
    expect(cache.get("a")).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });
});
