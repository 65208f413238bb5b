/**
 * The realtime edge sends nothing before the update log is durable for it (durable-outbound.ts):
 * every message Hocuspocus gives a socket waits for the log's latest append at that moment, in
 * order; a close waits behind what is held; a socket whose messages wait past the hold timeout is
 * closed with 1013.
 */
import { expect } from "chai";
import { Connection, Document } from "@hocuspocus/server";
import { CollabSocket } from "../../../server/realtime/collab-socket.ts";
import { createEdgeOptions } from "../../../server/realtime/socket-edge.ts";
import { DurableOutbound, type DurabilitySource } from "../../../server/realtime/durable-outbound.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

/** A stand-in for the update log: appends and commits are the test's. */
class FakeLog implements DurabilitySource {
  appended = 0;
  durable = 0;
  private listeners: Array<(durable: number) => void> = [];
  onCommitted(listener: (durable: number) => void): void {
    this.listeners.push(listener);
  }
  append(): void {
    this.appended += 1;
  }
  commit(upTo = this.appended): void {
    this.durable = upTo;
    for (const listener of this.listeners) listener(upTo);
  }
}

function fakeWs() {
  const sent: string[] = [];
  const closes: Array<[number | undefined, string | undefined]> = [];
  return {
    sent,
    closes,
    readyState: 1,
    send: (data: Uint8Array) => sent.push(Buffer.from(data).toString("latin1")),
    close(code?: number, reason?: string) {
      closes.push([code, reason]);
    },
    pause() {},
    resume() {},
  };
}

describe("durable outbound (durable-outbound.ts)", () => {
  const documents: Document[] = [];
  afterEach(() => {
    while (documents.length) documents.pop()!.destroy();
  });

  function setUp(holdTimeoutMs = 10_000) {
    const log = new FakeLog();
    const durability = new DurableOutbound(log, { holdTimeoutMs });
    const document = new Document(toDocumentName("org-1", "demo"));
    documents.push(document);
    const ws = fakeWs();
    const socket = new CollabSocket(ws as never, createEdgeOptions({ durability }));
    new Connection(socket, new Request("http://localhost/"), document, "socket", {}, false, null, null);
    const received = () => ws.sent.map((m) => m.match(/(first|second|third)/)?.[1]).filter(Boolean);
    return { log, durability, document, ws, socket, received };
  }

  it("sends at once while everything appended is durable", () => {
    const { log, document, received } = setUp();
    log.append();
    log.commit();
    document.broadcastStateless("first");
    expect(received()).to.deep.equal(["first"]);
  });

  it("holds what is sent after an append until the log commits it, in order, then sends at once again", () => {
    const { log, durability, document, received } = setUp();
    log.append();
    document.broadcastStateless("first");
    log.append();
    document.broadcastStateless("second");
    expect(received(), "nothing before the commit").to.deep.equal([]);
    expect(durability.holding).to.equal(1);
    log.commit(1);
    expect(received(), "what the first commit covers").to.deep.equal(["first"]);
    log.commit(2);
    expect(received()).to.deep.equal(["first", "second"]);
    expect(durability.holding).to.equal(0);
    document.broadcastStateless("third");
    expect(received()).to.deep.equal(["first", "second", "third"]);
  });

  it("keeps a message that needs no wait behind held ones", () => {
    const { log, document, received } = setUp();
    log.append();
    document.broadcastStateless("first");
    log.commit(0);
    // Nothing new appended, but "first" still waits: "second" may not overtake it.
    document.broadcastStateless("second");
    expect(received()).to.deep.equal([]);
    log.commit(1);
    expect(received()).to.deep.equal(["first", "second"]);
  });

  it("closes only after the held messages went out", () => {
    const { log, document, ws, socket, received } = setUp();
    log.append();
    document.broadcastStateless("first");
    socket.close(4403, "refused");
    expect(ws.closes).to.deep.equal([]);
    log.commit();
    expect(received()).to.deep.equal(["first"]);
    expect(ws.closes).to.deep.equal([[4403, "refused"]]);
  });

  it("closes a socket whose messages waited past the hold timeout with 1013, sending none of them", async () => {
    const { log, document, ws, received } = setUp(30);
    log.append();
    document.broadcastStateless("first");
    await new Promise((r) => setTimeout(r, 80));
    expect(ws.closes).to.deep.equal([[1013, "update_not_saved"]]);
    log.commit();
    expect(received()).to.deep.equal([]);
  });
});
