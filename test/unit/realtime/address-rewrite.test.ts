/**
 * Outbound addresses on /collab (server/realtime/address-rewrite.ts): Hocuspocus addresses its
 * broadcasts by the internal document name; every socket of a room gets the client's plain room id,
 * and a broadcast to N sockets is rewritten once (one rewriter shared by the server's sockets).
 */
import { expect } from "chai";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { Connection, Document } from "@hocuspocus/server";
import { ClientAddressRewriter } from "../../../server/realtime/address-rewrite.ts";
import { CollabSocket } from "../../../server/realtime/collab-socket.ts";
import { createEdgeOptions, type EdgeOptions } from "../../../server/realtime/socket-edge.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import { MessageType } from "../../../protocol/messages.ts";

/** A stand-in for a `ws` WebSocket: what the edge sends through `ws.send`. */
function fakeWs() {
  const sent: Uint8Array[] = [];
  return { sent, readyState: 1, send: (data: Uint8Array) => sent.push(data), close() {}, pause() {}, resume() {} };
}

function addressOf(message: Uint8Array): string {
  return decoding.readVarString(decoding.createDecoder(message));
}

function message(address: string, body: number[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  for (const byte of body) encoding.writeUint8(e, byte);
  return encoding.toUint8Array(e);
}

describe("outbound address rewriting (address-rewrite.ts)", () => {
  const documents: Document[] = [];
  afterEach(() => {
    while (documents.length) documents.pop()!.destroy();
  });

  it("gives the client's address, keeps the body, and passes a message that already has it", () => {
    const rewriter = new ClientAddressRewriter();
    const internal = message(toDocumentName("org-1", "demo"), [MessageType.Stateless, 1, 65]);
    const rewritten = rewriter.toClient(internal);
    expect(addressOf(rewritten)).to.equal("demo");
    expect([...rewritten.subarray(5)]).to.deep.equal([MessageType.Stateless, 1, 65]);
    expect(addressOf(rewriter.toClient(message(`${toDocumentName("org-1", "demo")}\u0000s1`, [MessageType.Stateless, 0])))).to.equal("demo\u0000s1");
    const plain = message("demo", [MessageType.Stateless, 0]);
    expect(rewriter.toClient(plain)).to.equal(plain);
  });

  it("rewrites a broadcast to N sockets of a room once, and the next broadcast anew", () => {
    const options: EdgeOptions = createEdgeOptions();
    const document = new Document(toDocumentName("org-1", "demo"));
    documents.push(document);
    const sockets = Array.from({ length: 5 }, () => {
      const ws = fakeWs();
      const socket = new CollabSocket(ws as never, options);
      new Connection(socket, new Request("http://localhost/"), document, "socket", {}, false, null, null);
      return ws;
    });
    // Another organisation's room of the same id, on a socket of the same server.
    const other = new Document(toDocumentName("org-2", "demo"));
    documents.push(other);
    const otherWs = fakeWs();
    new Connection(new CollabSocket(otherWs as never, options), new Request("http://localhost/"), other, "socket", {}, false, null, null);

    document.broadcastStateless("first");
    other.broadcastStateless("other");
    document.broadcastStateless("second");

    const first = sockets[0]!.sent[0]!;
    const second = sockets[0]!.sent[1]!;
    for (const ws of sockets) {
      expect(ws.sent).to.have.length(2);
      expect(ws.sent[0], "the same rewritten bytes for every socket").to.equal(first);
      expect(ws.sent[1]).to.equal(second);
    }
    expect(first).to.not.equal(second);
    for (const sent of [first, second, otherWs.sent[0]!]) expect(addressOf(sent)).to.equal("demo");
    expect(otherWs.sent).to.have.length(1);
    expect(Buffer.from(otherWs.sent[0]!).includes("other")).to.equal(true);
  });
});
