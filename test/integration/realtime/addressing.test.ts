/**
 * Addresses at our own edge: two organisations using the same room id get separate documents, and
 * every message a client receives is addressed by the plain room id it used (with its session part),
 * never by the server's internal name. /yjs carries no address; its messages hold no internal name.
 */
import { expect } from "chai";
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { waitFor } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, syncStep1Frame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { awarenessFrame, readAwarenessFrame } from "../../helpers/awareness.ts";
import { INTERNAL_MARK, toDocumentName } from "../../../protocol/document-name.ts";
import { MessageType, SyncStep } from "../../../protocol/messages.ts";

const ROOM = "demo";

/** A document rebuilt from the sync messages a socket received (with or without an address). */
function receivedDoc(frames: Uint8Array[], addressed: boolean): Y.Doc {
  const doc = new Y.Doc();
  for (const frame of frames) {
    const d = decoding.createDecoder(frame);
    if (addressed) decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    if (type !== MessageType.Sync && type !== MessageType.SyncReply) continue;
    const step = decoding.readVarUint(d);
    if (step === SyncStep.Step2 || step === SyncStep.Update) Y.applyUpdate(doc, decoding.readVarUint8Array(d));
  }
  return doc;
}

function textOf(frames: Uint8Array[], addressed: boolean): string {
  const doc = receivedDoc(frames, addressed);
  const text = doc.getText("content").toString();
  doc.destroy();
  return text;
}

function edit(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText("content").insert(0, text);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

function contains(frame: Uint8Array, text: string): boolean {
  return Buffer.from(frame).includes(Buffer.from(text, "utf8"));
}

/** A y-websocket sync step 1 (no address) asking for the whole document. */
function ywsSyncStep1(): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.Sync);
  encoding.writeVarUint(e, SyncStep.Step1);
  encoding.writeVarUint8Array(e, new Uint8Array([0]));
  return encoding.toUint8Array(e);
}

describe("addresses at the socket edge", function () {
  this.timeout(30_000);
  let server: TestServer;
  const sockets: RawSocket[] = [];

  before(async () => {
    server = await startServer();
    await truncateAll();
  });
  afterEach(async () => {
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server?.close();
  });

  async function collab(address: string, token: string): Promise<RawSocket> {
    const socket = await openRawSocket(server.collabUrl);
    sockets.push(socket);
    socket.send(authFrame(address, token));
    await waitForAuthenticated(socket);
    socket.send(syncStep1Frame(address));
    return socket;
  }

  it("two organisations' same room id stay apart, and clients see only their plain room id in every message", async () => {
    const tokenA = await mintToken({ orgId: "org-a", userId: "user-a" });
    const tokenB = await mintToken({ orgId: "org-b", userId: "user-b" });
    const a1 = await collab(ROOM, tokenA);
    const a2 = await collab(`${ROOM}\u0000session-2`, tokenA);
    const b1 = await collab(ROOM, tokenB);
    const yws = await openRawSocket(`${server.collabUrl.replace(/\/collab$/, "/yjs")}/${ROOM}?token=${encodeURIComponent(tokenA)}`);
    sockets.push(yws);
    yws.send(ywsSyncStep1());

    a1.send(updateFrame(ROOM, edit("A's text")));
    b1.send(updateFrame(ROOM, edit("B's text")));
    a1.send(awarenessFrame(ROOM, [{ clientId: 4242, clock: 1, state: { cursor: 7 } }]));

    await waitFor(() => textOf(a2.received, true) === "A's text", 5000, "A's text at A's second session");
    await waitFor(() => textOf(yws.received, false) === "A's text", 5000, "A's text at A's /yjs client");
    await waitFor(() => textOf(b1.received, true) === "B's text", 5000, "B's text at B");
    await waitFor(() => a2.received.some((f) => readAwarenessFrame(f)?.has(4242) ?? false), 5000, "A's presence at A's second session");
    await waitFor(() => textOf(a1.received, true) === "A's text", 5000, "A's own edit acknowledged in A's document");

    const expected = new Map([
      [a1, ROOM],
      [a2, `${ROOM}\u0000session-2`],
      [b1, ROOM],
    ]);
    for (const [socket, address] of expected) {
      expect(socket.received.length).to.be.greaterThan(1);
      for (const frame of socket.received) {
        expect(decoding.readVarString(decoding.createDecoder(frame)), "the address the client used").to.equal(address);
      }
    }
    for (const socket of [a1, a2, b1, yws]) {
      for (const frame of socket.received) {
        expect(contains(frame, `${INTERNAL_MARK}org-`), "no internal name in any message").to.equal(false);
      }
    }
    expect(b1.received.some((f) => contains(f, "A's text")), "B never gets A's document").to.equal(false);
    expect(b1.received.some((f) => readAwarenessFrame(f)?.has(4242) ?? false), "nor A's presence").to.equal(false);
    for (const socket of [a1, a2, yws]) expect(socket.received.some((f) => contains(f, "B's text"))).to.equal(false);

    const documents = server.app.hocuspocus.documents;
    expect(documents.get(toDocumentName("org-a", ROOM))!.getText("content").toString()).to.equal("A's text");
    expect(documents.get(toDocumentName("org-b", ROOM))!.getText("content").toString()).to.equal("B's text");
  });
});
