import { expect } from "chai";
import { TokenSource } from "../../../client/core/token.ts";

function jwt(claims: Record<string, unknown>): string {
  return `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
}

describe("client TokenSource", () => {
  const sources: TokenSource[] = [];
  afterEach(() => {
    while (sources.length) sources.pop()!.destroy();
  });

  it("caches a token, refreshes it at 80% of its lifetime and reports the new one", async () => {
    let fetched = 0;
    const refreshed: string[] = [];
    const source = new TokenSource({
      fetch: async () => {
        fetched++;
        const now = Math.floor(Date.now() / 1000);
        return jwt({ sub: "u", iat: now, exp: now + 2, n: fetched });
      },
      onRefreshed: (token) => refreshed.push(token),
    });
    sources.push(source);
    const first = await source.get();
    expect(await source.get()).to.equal(first); // cached while valid
    expect(fetched).to.equal(1);
    // A 2 s token (whole seconds, so 1–2 s left) is due for refresh after 0.8–1.6 s.
    const started = Date.now();
    while (refreshed.length === 0 && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(fetched).to.equal(1 + refreshed.length);
    expect(refreshed[0]).to.not.equal(first);
    expect(await source.get()).to.equal(refreshed.at(-1));
  });

  it("shares one fetch between concurrent callers and refetches after invalidate()", async () => {
    let fetched = 0;
    const source = new TokenSource({ fetch: async () => jwt({ sub: "u", n: ++fetched }) });
    sources.push(source);
    const [a, b] = await Promise.all([source.get(), source.get()]);
    expect(a).to.equal(b);
    expect(fetched).to.equal(1);
    source.invalidate();
    expect(await source.get()).to.not.equal(a);
    expect(fetched).to.equal(2);
  });

  it("never fetches or refreshes a fixed token", async () => {
    const source = new TokenSource({ fixed: "fixed", fetch: async () => { throw new Error("no"); } });
    sources.push(source);
    expect(await source.get()).to.equal("fixed");
    source.invalidate();
    expect(await source.get()).to.equal("fixed");
  });
});
