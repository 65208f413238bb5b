/**
 * What /collab holds for an address before its Auth message: bounded per socket in bytes as well as
 * in messages (an unauthenticated flood of large frames is closed, the server's memory stays flat),
 * and released through the same rate limit as every other document message.
 */
import { expect } from "chai";
import v8 from "node:v8";
import vm from "node:vm";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, updateFrame, type RawSocket } from "../../helpers/raw-socket.ts";
import { MessageType } from "../../../protocol/messages.ts";
import { CloseCodes } from "../../../protocol/close-codes.ts";

// The server runs in this process, so this process' heap and buffers are the server's memory.
// Collecting before each reading keeps garbage out of it (`gc` is only exposed on request).
v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

const MiB = 1024 * 1024;

function retainedBytes(): number {
  collectGarbage();
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** Growth over `baseline`, read until it is under `limit` or 3 s have passed (closed sockets free their buffers shortly after). */
async function settledGrowth(baseline: number, limit: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const grown = retainedBytes() - baseline;
    if (grown < limit || Date.now() - started > 3000) return grown;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A Stateless message of `size` bytes: the cheapest large frame the server accepts. */
function statelessFrame(address: string, size: number): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, MessageType.Stateless);
  encoding.writeVarUint8Array(e, new Uint8Array(size - address.length - 8).fill(120));
  return encoding.toUint8Array(e);
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("messages held before authentication on /collab", function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];
  let counter = 0;

  before(async () => {
    server = await startServer({ DOCUMENT_MESSAGES_PER_SECOND: "100", DOCUMENT_MESSAGES_BURST: "20" });
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  after(() => server?.close());

  it("closes an unauthenticated flood of large frames and keeps the server's memory flat", async () => {
    const frames = Array.from({ length: 8 }, (_, i) => statelessFrame(`flood-${i}`, MiB - 64));
    const before = retainedBytes();
    // 4 sockets × 32 MiB, spread over 8 addresses (under the 200-messages-per-address cap).
    const flooders = await Promise.all(Array.from({ length: 4 }, () => openRawSocket(server.collabUrl)));
    sockets.push(...flooders);
    await Promise.all(
      flooders.map(async (socket) => {
        for (let i = 0; i < 32 && socket.ws.readyState === socket.ws.OPEN; i++) {
          await new Promise<void>((resolve) => socket.ws.send(frames[i % frames.length]!, () => resolve()));
        }
        // The server has read everything sent before it once it answers a ping sent after it.
        if (socket.ws.readyState === socket.ws.OPEN) await new Promise((resolve) => socket.ws.once("pong", resolve).ping());
      }),
    );
    const closes = await Promise.all(
      flooders.map((socket) => Promise.race([socket.closed, new Promise((resolve) => setTimeout(() => resolve("still open"), 2000))])),
    );
    const grown = await settledGrowth(before, 8 * MiB);
    expect(grown, `memory grew by ${(grown / MiB).toFixed(1)} MiB for 128 MiB sent`).to.be.lessThan(8 * MiB);
    for (const closed of closes) expect(closed).to.deep.equal({ code: CloseCodes.HeldTooLarge.code, reason: CloseCodes.HeldTooLarge.reason });
    // The process carries on.
    const client = connectProvider(server.collabUrl, `after-flood-${++counter}`, await mintToken({}));
    clients.push(client);
    await waitForSynced(client);
  });

  it("releases held messages through the rate limit once the address authenticates", async () => {
    const room = `held-${process.pid}-${++counter}`;
    const observer = connectProvider(server.collabUrl, room, await mintToken({ userId: "observer" }));
    clients.push(observer);
    await waitForSynced(observer);
    const doc = new Y.Doc();
    const frames: Uint8Array[] = [];
    doc.on("update", (u: Uint8Array) => frames.push(updateFrame(room, u)));
    for (let i = 0; i < 150; i++) doc.getText("content").insert(i, String.fromCharCode(97 + (i % 26)));
    const text = doc.getText("content").toString();
    doc.destroy();

    const throttledBefore = await metric(server, "syncforge_document_messages_throttled_total");
    const writer = await openRawSocket(server.collabUrl);
    sockets.push(writer);
    for (const frame of frames) writer.send(frame); // held: no Auth for the room yet
    writer.send(authFrame(room, await mintToken({ userId: "writer" })));
    await waitFor(() => observer.text.toString() === text, 10_000, "every held update");
    // 150 messages at 100/s with a burst of 20: most of them had to wait for the bucket.
    expect(await metric(server, "syncforge_document_messages_throttled_total")).to.be.greaterThan(throttledBefore + 100);
    expect(writer.ws.readyState).to.equal(writer.ws.OPEN);
  });
});
