import { expect } from "chai";
import { deleteEntry, EMPTY_MAP, setEntry } from "../../../server/realtime/empty-maps.ts";

describe("empty-maps: per-socket maps sharing one empty map", () => {
  it("gives each holder its own map on its first entry, never writing the shared one", () => {
    let a: ReadonlyMap<string, number> = EMPTY_MAP;
    let b: ReadonlyMap<string, number> = EMPTY_MAP;
    a = setEntry(a, "x", 1);
    b = setEntry(b, "y", 2);
    expect(a).to.not.equal(EMPTY_MAP);
    expect(a).to.not.equal(b);
    expect([...a]).to.deep.equal([["x", 1]]);
    expect([...b]).to.deep.equal([["y", 2]]);
    expect(EMPTY_MAP.size).to.equal(0);
  });

  it("keeps writing the holder's own map, and returns to the shared one when its last entry goes", () => {
    let map: ReadonlyMap<number, string> = setEntry(EMPTY_MAP, 1, "one");
    const own = map;
    map = setEntry(map, 2, "two");
    expect(map).to.equal(own);
    map = deleteEntry(map, 1);
    expect(map).to.equal(own);
    expect([...map]).to.deep.equal([[2, "two"]]);
    map = deleteEntry(map, 2);
    expect(map).to.equal(EMPTY_MAP);
    expect(deleteEntry(map, 3)).to.equal(EMPTY_MAP);
    expect(EMPTY_MAP.size).to.equal(0);
  });
});
