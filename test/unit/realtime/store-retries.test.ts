/**
 * The retry scheduler of failed stores on its own, with a fake store and short delays: backoff
 * grows with each failure, a success ends the retries, an attempt without a verdict (another
 * process held the store lock) schedules the next one, runNow never runs two attempts at once.
 */
import { expect } from "chai";
import { Document, type onStoreDocumentPayload } from "@hocuspocus/server";
import { StoreRetries, retryDelayMs } from "../../../server/realtime/store-retries.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!done() && Date.now() < deadline) await sleep(5);
}

describe("store retries", () => {
  const documents: Document[] = [];
  afterEach(() => {
    while (documents.length) documents.pop()!.destroy();
  });

  function payloadFor(name: string): onStoreDocumentPayload {
    const document = new Document(name);
    documents.push(document);
    return { document, documentName: name, clientsCount: 0, lastContext: {}, lastTransactionOrigin: null, instance: null as never };
  }

  it("backs off 1 s, 2 s, 4 s, … up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs)).to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("retries after each failure with growing delays until a store succeeds", async () => {
    const delays: number[] = [];
    let attempts = 0;
    const payload = payloadFor("a");
    const retries: StoreRetries = new StoreRetries({
      delayMs: (failures) => {
        delays.push(failures);
        return 5;
      },
      store: async () => {
        attempts += 1;
        if (attempts < 3) retries.failed(payload);
        else retries.settled(payload.document);
      },
    });
    expect(retries.failed(payload)).to.equal(1);
    expect(retries.has(payload.document)).to.equal(true);
    await until(() => !retries.has(payload.document));
    expect(attempts).to.equal(3);
    expect(delays).to.deep.equal([1, 2, 3]);
    expect(retries.has(payload.document)).to.equal(false);
    retries.close();
  });

  it("schedules the next attempt when one ends without a verdict", async () => {
    let attempts = 0;
    const payload = payloadFor("b");
    const retries = new StoreRetries({ delayMs: () => 5, store: async () => void (attempts += 1) });
    retries.failed(payload);
    await until(() => attempts >= 3);
    expect(attempts).to.be.at.least(3);
    expect(retries.has(payload.document)).to.equal(true);
    retries.close();
    const after = attempts;
    await sleep(30);
    expect(attempts, "nothing runs after close").to.equal(after);
  });

  it("runs a retry now, once, however often it is asked while it runs", async () => {
    let attempts = 0;
    let finish!: () => void;
    const payload = payloadFor("c");
    const retries = new StoreRetries({
      delayMs: () => 60_000,
      store: () => {
        attempts += 1;
        return new Promise<void>((resolve) => (finish = resolve));
      },
    });
    retries.failed(payload);
    retries.runNow(payload.document);
    retries.runNow(payload.document);
    retries.runAll();
    expect(attempts).to.equal(1);
    retries.settled(payload.document);
    finish();
    await sleep(5);
    retries.runNow(payload.document);
    expect(attempts, "nothing left to retry").to.equal(1);
    retries.close();
  });
});
