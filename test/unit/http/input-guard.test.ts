import { expect } from "chai";
import { inspectJson, MAX_JSON_DEPTH } from "../../../server/http/middleware/input-guard.ts";

function nest(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
}

describe("inspectJson", () => {
  it("accepts nesting up to MAX_JSON_DEPTH levels and refuses one more", () => {
    expect(inspectJson(nest(MAX_JSON_DEPTH))).to.equal(null);
    expect(inspectJson(nest(MAX_JSON_DEPTH + 1))).to.equal("too_deep");
    expect(inspectJson(JSON.parse("[".repeat(500_000) + "]".repeat(500_000)))).to.equal("too_deep");
  });

  it("names the first string or key holding a NUL; other control characters are free text", () => {
    expect(inspectJson({ a: [{ b: "x\u0000" }] })).to.deep.equal({ path: "a.0.b" });
    expect(inspectJson({ ["k\u0000"]: 1 })).to.deep.equal({ path: "k\u0000" });
    expect(inspectJson({ body: "line\nnext\ttab\u0001" })).to.equal(null);
    expect(inspectJson(undefined)).to.equal(null);
    expect(inspectJson(Array.from({ length: 100_000 }, (_, i) => ({ i })))).to.equal(null);
  });
});
