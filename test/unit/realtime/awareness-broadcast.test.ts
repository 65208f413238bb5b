/**
 * The gate's own awareness broadcast (flushAwareness in server/realtime/awareness-gate.ts): with only
 * awareness waiting it writes one frame per address straight beneath each edge's WebSocket (the
 * whole message for /collab, the body for /yjs), skipping the sender; a socket that throws is closed
 * and the others still get the message; the room's connections are followed between broadcasts.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { Awareness, encodeAwarenessUpdate } from "y-protocols/awareness";
import { Connection, Document } from "@hocuspocus/server";
import * as decoding from "lib0/decoding";
import { AwarenessGate } from "../../../server/realtime/awareness-gate.ts";
import { createEdgeOptions } from "../../../server/realtime/socket-edge.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

/** A socket edge over a stand-in for a `ws` WebSocket (the internals writeBroadcast reads). */
interface Edge {
  /** Payloads of the frames written beneath the WebSocket. */
  written: Buffer[];
  /** Messages that came through Connection.send (the general path). */
  sent: Uint8Array[];
  readyState: number;
  send(message: Uint8Array): void;
  close(): void;
  broadcastTarget(): { ws: never; bodyOnly: boolean };
}

function edge(options: { bodyOnly?: boolean; failWrite?: boolean } = {}): Edge {
  const written: Buffer[] = [];
  const ws = {
    readyState: 1,
    _extensions: {},
    _sender: { _state: 0, _firstFragment: true, _queue: [] },
    _socket: {
      write(frame: Buffer) {
        if (options.failWrite) throw new Error("socket gone");
        expect(frame[1]! < 126, "short frames in this test").to.equal(true);
        written.push(frame.subarray(2));
        return true;
      },
    },
  };
  return {
    written,
    sent: [],
    readyState: 1,
    send(message) {
      this.sent.push(message);
    },
    close() {},
    broadcastTarget: () => ({ ws: ws as never, bodyOnly: options.bodyOnly ?? false }),
  };
}

describe("awareness broadcast from the gate", () => {
  const options = createEdgeOptions();

  function room() {
    const document = new Document(toDocumentName("org-1", "demo"));
    const connect = (socket: Edge) => {
      const connection = new Connection(socket as never, new Request("http://localhost/"), document, "s", {}, false, null, null);
      document.addConnection(connection);
      return connection;
    };
    return { document, connect };
  }

  it("writes one frame per address beneath each edge's WebSocket, not to the sender, and closes a socket that throws", () => {
    const { document, connect } = room();
    const senderEdge = edge();
    const receiver = edge();
    const broken = edge({ failWrite: true });
    const yjs = edge({ bodyOnly: true });
    const last = edge();
    const sender = connect(senderEdge);
    connect(receiver);
    let brokenClosed = false;
    connect(broken).onClose(() => (brokenClosed = true));
    connect(yjs);
    connect(last);

    const gate = new AwarenessGate(options.awareness, options.metrics);
    gate.attach(document.name, sender, { userId: "u1", userInfo: { name: "Una" } });
    const client = new Awareness(new Y.Doc());
    client.setLocalState({ pointer: { x: 1, y: 2 } });
    gate.receive(document.name, encodeAwarenessUpdate(client, [client.clientID]));

    expect(senderEdge.written, "no echo to the sender").to.have.length(0);
    expect(brokenClosed, "the socket that threw is closed").to.equal(true);
    expect(last.written, "a socket after the one that threw still gets it").to.have.length(1);
    for (const e of [receiver, yjs, last]) expect(e.sent, "nothing through Connection.send").to.have.length(0);

    const whole = decoding.createDecoder(receiver.written[0]!);
    // Addressed as Hocuspocus addresses the connection (its internal name): only /yjs takes this path,
    // which strips the address; /collab has no broadcastTarget and rewrites in its send.
    expect(decoding.readVarString(whole), "addressed as Hocuspocus addresses it").to.equal(document.name);
    const body = receiver.written[0]!.subarray(whole.pos);
    expect(decoding.readVarUint(decoding.createDecoder(body))).to.equal(1); // awareness
    expect(yjs.written[0]!.equals(body), "/yjs gets the body, without the address").to.equal(true);
    expect(last.written[0]!.equals(receiver.written[0]!)).to.equal(true);

    const state = document.awareness.getStates().get(client.clientID) as { user: { id: string }; pointer: unknown };
    expect(state.user.id).to.equal("u1");
    expect(state.pointer).to.deep.equal({ x: 1, y: 2 });
    expect((document as unknown as { pendingAwarenessClients: Set<number> }).pendingAwarenessClients.size).to.equal(0);
    expect((document as unknown as { cancelFlush: unknown }).cancelFlush, "Hocuspocus' own flush cancelled").to.equal(null);

    gate.forget();
    client.destroy();
    document.destroy();
  });

  it("follows the room's connections between broadcasts, also when one leaves and another joins in between", async () => {
    const { document, connect } = room();
    const sender = connect(edge());
    const stays = edge();
    const leaves = edge();
    connect(stays);
    const leaving = connect(leaves);
    const gate = new AwarenessGate(options.awareness, options.metrics);
    gate.attach(document.name, sender, { userId: "u1", userInfo: {} });
    const client = new Awareness(new Y.Doc());
    const move = (x: number) => {
      client.setLocalState({ x });
      gate.receive(document.name, encodeAwarenessUpdate(client, [client.clientID]));
    };
    move(1);
    expect([stays.written.length, leaves.written.length]).to.deep.equal([1, 1]);
    // Same number of connections, different members.
    document.removeConnection(leaving);
    const joins = edge();
    connect(joins);
    await new Promise((resolve) => setImmediate(resolve)); // a new turn: the next update is flushed at once
    move(2);
    expect(stays.written.length).to.equal(2);
    expect(leaves.written.length, "the one that left gets nothing more").to.equal(1);
    expect(joins.written.length, "the one that joined gets it").to.equal(1);
    gate.forget();
    client.destroy();
    document.destroy();
  });
});
