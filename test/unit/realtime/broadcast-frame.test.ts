/**
 * server/realtime/broadcast-frame.ts: one frame per broadcast, written beneath `ws`. Pins the ws
 * internals it relies on, checks the frame against ws' own framing, and that messages arrive whole
 * and in order over real sockets, including when ws' Sender is busy or compression is negotiated.
 */
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import * as wsModule from "ws";
import { WebSocketServer, WebSocket } from "ws";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { binaryFrame, framesDirectly, sendBinary, writeBroadcast } from "../../../server/realtime/broadcast-frame.ts";

/** ws' own framing, exported by ws but not by its type definitions. */
const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender;

interface Pair {
  server: WebSocket;
  received: Buffer[];
  client: WebSocket;
}

async function startPairs(count: number, perMessageDeflate = false): Promise<{ pairs: Pair[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  const port = (wss.address() as AddressInfo).port;
  const pairs: Pair[] = [];
  for (let i = 0; i < count; i++) {
    const serverSide = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
    const received: Buffer[] = [];
    client.on("message", (data, isBinary) => {
      expect(isBinary).to.equal(true);
      received.push(data as Buffer);
    });
    await new Promise<void>((resolve, reject) => client.once("open", resolve).once("error", reject));
    pairs.push({ server: await serverSide, received, client });
  }
  return {
    pairs,
    close: async () => {
      for (const p of pairs) p.client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe("broadcast frames (server/realtime/broadcast-frame.ts)", () => {
  it("builds the same bytes as ws' own framing at every length boundary", () => {
    for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
      const payload = Buffer.from(bytes(length, length));
      const theirs = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false }));
      expect(binaryFrame(payload).equals(theirs), `length ${length}`).to.equal(true);
    }
  });

  it("relies on ws internals that are still there (ws 8: _socket, _sender state/queue/fragment, _extensions)", async () => {
    const { pairs, close } = await startPairs(1);
    try {
      const ws = pairs[0]!.server as unknown as Record<string, unknown>;
      const sender = ws._sender as Record<string, unknown>;
      expect(typeof (ws._socket as { write?: unknown }).write).to.equal("function");
      expect(sender._state).to.equal(0);
      expect(sender._queue).to.be.an("array").that.is.empty;
      expect(sender._firstFragment).to.equal(true);
      expect(ws._extensions).to.deep.equal({});
      // A Blob read makes the Sender busy: the state the direct path must not write through.
      pairs[0]!.server.send(new Blob([new Uint8Array([1])]));
      expect(sender._state).to.not.equal(0);
      // What comes meanwhile is queued, and the queue is drained before the Sender is idle again:
      // writeBroadcast relies on "idle ⇒ nothing queued" and reads only the state.
      pairs[0]!.server.send(new Uint8Array([2]));
      expect((sender._queue as unknown[]).length).to.equal(1);
      await until(() => pairs[0]!.received.length === 2);
      expect(sender._state).to.equal(0);
      expect(sender._queue).to.be.an("array").that.is.empty;
    } finally {
      await close();
    }
  });

  it("ws' Sender queues only while it is not idle and dequeues only while it is (ws/lib/sender.js)", () => {
    const wsMain = createRequire(import.meta.url).resolve("ws"); // <ws>/index.js
    const source = readFileSync(path.join(path.dirname(wsMain), "lib/sender.js"), "utf8").split("\n");
    const enqueues = source.flatMap((line, i) => (line.includes("this.enqueue(") ? [i] : []));
    expect(enqueues.length).to.be.greaterThan(0);
    for (const i of enqueues) expect(source[i - 1], `line ${i}`).to.match(/this\._state !== DEFAULT\)/);
    expect(source.join("\n")).to.contain("while (this._state === DEFAULT && this._queue.length) {");
  });

  // sendBinary for any message; writeBroadcast in the awareness fan-out (awareness-gate.ts).
  const senders: Record<string, (ws: WebSocket, source: Uint8Array, start?: number) => void> = {
    sendBinary: (ws, source, start) => sendBinary(ws, source, start),
    writeBroadcast: (ws, source, start) => {
      // As the fan-out does: writeBroadcast where framesDirectly, else sendBinary.
      if (framesDirectly(ws)) writeBroadcast(ws, source, start ?? 0);
      else sendBinary(ws, source, start);
    },
  };
  for (const [name, send] of Object.entries(senders)) {
    describe(name, () => {
      it("delivers one broadcast payload, and a suffix of it, whole to every socket", async () => {
        const { pairs, close } = await startPairs(3);
        try {
          const small = bytes(100, 1);
          const large = bytes(100_000, 2);
          for (const p of pairs) send(p.server, small);
          for (const p of pairs) send(p.server, large);
          for (const p of pairs) send(p.server, small, 40);
          await until(() => pairs.every((p) => p.received.length === 3));
          for (const p of pairs) {
            expect(p.received[0]!.equals(small)).to.equal(true);
            expect(p.received[1]!.equals(large)).to.equal(true);
            expect(p.received[2]!.equals(small.subarray(40))).to.equal(true);
          }
        } finally {
          await close();
        }
      });

      it("never reuses a frame for another payload or offset", async () => {
        const { pairs, close } = await startPairs(1);
        try {
          const a = bytes(10, 3);
          const b = bytes(10, 4);
          const ws = pairs[0]!.server;
          send(ws, a);
          send(ws, b);
          send(ws, a);
          send(ws, a, 5);
          send(ws, a);
          const received = pairs[0]!.received;
          await until(() => received.length === 5);
          expect(received.map((r) => r.toString("hex"))).to.deep.equal([a, b, a, a.subarray(5), a].map((x) => Buffer.from(x).toString("hex")));
        } finally {
          await close();
        }
      });

      it("queues behind ws when its Sender is busy, keeping the order", async () => {
        const { pairs, close } = await startPairs(1);
        try {
          const ws = pairs[0]!.server;
          ws.send(new Blob([new Uint8Array([9, 9, 9])])); // read asynchronously: the Sender is busy meanwhile
          const next = bytes(20, 5);
          send(ws, next);
          const received = pairs[0]!.received;
          await until(() => received.length === 2);
          expect([...received[0]!]).to.deep.equal([9, 9, 9]);
          expect(received[1]!.equals(next)).to.equal(true);
        } finally {
          await close();
        }
      });

      it("goes through ws when compression was negotiated", async () => {
        const { pairs, close } = await startPairs(2, true);
        try {
          expect(Object.keys((pairs[0]!.server as unknown as { _extensions: object })._extensions)).to.deep.equal(["permessage-deflate"]);
          const payload = bytes(2000, 6);
          for (const p of pairs) send(p.server, payload);
          await until(() => pairs.every((p) => p.received.length === 1));
          for (const p of pairs) expect(p.received[0]!.equals(payload)).to.equal(true);
        } finally {
          await close();
        }
      });

      it("sends nothing to a socket that is not open", async () => {
        const { pairs, close } = await startPairs(1);
        try {
          const ws = pairs[0]!.server;
          ws.close();
          expect(() => send(ws, bytes(5, 7))).to.not.throw();
        } finally {
          await close();
        }
      });
    });
  }
});
