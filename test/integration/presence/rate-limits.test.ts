import { expect } from "chai";
import * as Y from "yjs";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { awarenessFrame } from "../../helpers/awareness.ts";

type State = Record<string, any>;

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("per-connection document message limit and awareness ordering", () => {
  let server: TestServer;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];
  let counter = 0;
  let room: string;

  before(async () => {
    server = await startServer({ DOCUMENT_MESSAGES_PER_SECOND: "100", DOCUMENT_MESSAGES_BURST: "20" });
  });
  beforeEach(() => {
    room = `limits-${process.pid}-${++counter}`;
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  after(() => server.close());

  async function raw(userId: string): Promise<RawSocket> {
    const s = await openRawSocket(server.collabUrl);
    sockets.push(s);
    s.send(authFrame(room, await mintToken({ userId })));
    await waitForAuthenticated(s);
    return s;
  }

  /** `count` single-character updates from one Y.Doc, each its own frame. */
  function updates(count: number): { frames: Uint8Array[]; text: string } {
    const doc = new Y.Doc();
    const frames: Uint8Array[] = [];
    doc.on("update", (u: Uint8Array) => frames.push(updateFrame(room, u)));
    for (let i = 0; i < count; i++) doc.getText("content").insert(i, String.fromCharCode(97 + (i % 26)));
    const text = doc.getText("content").toString();
    doc.destroy();
    return { frames, text };
  }

  it("delays document messages over the limit without losing any, and counts them", async () => {
    const observer = connectProvider(server.collabUrl, room, await mintToken({ userId: "observer" }));
    clients.push(observer);
    await waitForSynced(observer);
    const before = await metric(server, "syncforge_document_messages_throttled_total");
    const writer = await raw("writer");
    const { frames, text } = updates(150);
    for (const frame of frames) writer.send(frame);
    await waitFor(() => observer.text.toString() === text, 10_000, "every update");
    expect(await metric(server, "syncforge_document_messages_throttled_total")).to.be.greaterThan(before + 100);
    expect(writer.ws.readyState).to.equal(writer.ws.OPEN);
  });

  // 800: frames already read from the socket before it pauses still queue (up to 1,000 of them).
  it("slows a client that sends 800 updates at once, without closing it or losing any", async function () {
    this.timeout(30_000);
    const observer = connectProvider(server.collabUrl, room, await mintToken({ userId: "observer" }));
    clients.push(observer);
    await waitForSynced(observer);
    const writer = await raw("burst");
    const { frames, text } = updates(800);
    for (const frame of frames) writer.send(frame);
    await waitFor(() => observer.text.toString() === text, 25_000, "every update");
    expect(writer.ws.readyState).to.equal(writer.ws.OPEN);
  });

  it("applies a cursor only after the document update sent before it", async () => {
    const observer = connectProvider(server.collabUrl, room, await mintToken({ userId: "observer" }));
    clients.push(observer);
    await waitForSynced(observer);
    const seenWith: string[] = [];
    observer.provider.awareness!.on("update", ({ added, updated }: { added: number[]; updated: number[] }) => {
      if (added.concat(updated).includes(5150)) seenWith.push(observer.text.toString());
    });
    const writer = await raw("typist");
    const { frames, text } = updates(5);
    for (const frame of frames) writer.send(frame);
    writer.send(awarenessFrame(room, [{ clientId: 5150, clock: 1, state: { cursor: { anchor: 5, head: 5 } } }]));
    await waitFor(() => seenWith.length > 0, 5000, "the cursor");
    // The update log commit is awaited before each update is applied: without the ordering, the
    // cursor would overtake the text.
    expect(seenWith[0]).to.equal(text);
    expect((observer.provider.awareness!.getStates().get(5150) as State).user.id).to.equal("typist");
  });
});
