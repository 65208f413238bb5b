/**
 * The gate's own awareness broadcast (flushAwareness in server/realtime/awareness-gate.ts): with only
 * awareness waiting it writes the message through each connection's socket edge, skipping the
 * sender; a socket that throws is closed and the others still get the message.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { Awareness, encodeAwarenessUpdate } from "y-protocols/awareness";
import { Connection, Document } from "@hocuspocus/server";
import * as decoding from "lib0/decoding";
import { AwarenessGate } from "../../../server/realtime/awareness-gate.ts";
import { DEFAULT_EDGE_OPTIONS } from "../../../server/realtime/collab-socket.ts";
import { patchConnectionAddress } from "../../../server/realtime/hocuspocus.ts";
import { toDocumentName } from "../../../server/realtime/document-name.ts";

interface Target {
  broadcasts: Array<{ message: Uint8Array; bodyStart: number }>;
  sent: Uint8Array[];
  readyState: number;
  send(message: Uint8Array): void;
  sendBroadcast(message: Uint8Array, bodyStart: number): void;
  close(): void;
}

function target(fail = false): Target {
  return {
    broadcasts: [],
    sent: [],
    readyState: 1,
    send(message) {
      this.sent.push(message);
    },
    sendBroadcast(message, bodyStart) {
      if (fail) throw new Error("socket gone");
      this.broadcasts.push({ message, bodyStart });
    },
    close() {},
  };
}

describe("awareness broadcast from the gate", () => {
  before(() => patchConnectionAddress());

  function room() {
    const document = new Document(toDocumentName("org-1", "demo"));
    const connect = (socket: Target) => {
      const connection = new Connection(socket as never, new Request("http://localhost/"), document, "s", {}, false, null, null);
      document.addConnection(connection);
      return connection;
    };
    return { document, connect };
  }

  it("writes one message per address through each socket edge, not to the sender, and closes a socket that throws", () => {
    const { document, connect } = room();
    const senderSocket = target();
    const broken = target(true);
    const receiver = target();
    const sender = connect(senderSocket);
    const brokenConnection = connect(broken);
    connect(receiver);
    let brokenClosed = false;
    brokenConnection.onClose(() => (brokenClosed = true));

    const gate = new AwarenessGate(DEFAULT_EDGE_OPTIONS.awareness, DEFAULT_EDGE_OPTIONS.metrics);
    const address = document.name;
    gate.attach(address, sender, { userId: "u1", userInfo: { name: "Una" } });
    const client = new Awareness(new Y.Doc());
    client.setLocalState({ pointer: { x: 1, y: 2 } });
    gate.receive(address, encodeAwarenessUpdate(client, [client.clientID]));

    expect(senderSocket.broadcasts, "no echo to the sender").to.have.length(0);
    expect(brokenClosed, "the socket that threw is closed").to.equal(true);
    expect(receiver.broadcasts).to.have.length(1);
    expect(receiver.sent, "nothing through Connection.send").to.have.length(0);
    const { message, bodyStart } = receiver.broadcasts[0]!;
    const decoder = decoding.createDecoder(message);
    expect(decoding.readVarString(decoder), "addressed to the plain room id").to.equal("demo");
    expect(decoder.pos).to.equal(bodyStart);
    expect(decoding.readVarUint(decoder)).to.equal(1); // awareness
    const states = document.awareness.getStates().get(client.clientID) as { user: { id: string; name: string }; pointer: unknown };
    expect(states.user.id).to.equal("u1");
    expect(states.pointer).to.deep.equal({ x: 1, y: 2 });
    expect((document as unknown as { pendingAwarenessClients: Set<number> }).pendingAwarenessClients.size).to.equal(0);
    expect((document as unknown as { cancelFlush: unknown }).cancelFlush, "Hocuspocus' own flush cancelled").to.equal(null);

    gate.forget();
    client.destroy();
    document.destroy();
  });

  it("follows the room's connections between broadcasts, also when one leaves and another joins in between", () => {
    const { document, connect } = room();
    const sender = connect(target());
    const stays = target();
    const leaves = target();
    connect(stays);
    const leaving = connect(leaves);
    const gate = new AwarenessGate(DEFAULT_EDGE_OPTIONS.awareness, DEFAULT_EDGE_OPTIONS.metrics);
    gate.attach(document.name, sender, { userId: "u1", userInfo: {} });
    const client = new Awareness(new Y.Doc());
    const move = (x: number) => {
      client.setLocalState({ x });
      gate.receive(document.name, encodeAwarenessUpdate(client, [client.clientID]));
      document.flush();
    };
    move(1);
    expect([stays.broadcasts.length, leaves.broadcasts.length]).to.deep.equal([1, 1]);
    // Same number of connections, different members.
    document.removeConnection(leaving);
    const joins = target();
    connect(joins);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        move(2); // a new turn: flushed at once
        expect(stays.broadcasts.length).to.equal(2);
        expect(leaves.broadcasts.length, "the one that left gets nothing more").to.equal(1);
        expect(joins.broadcasts.length, "the one that joined gets it").to.equal(1);
        gate.forget();
        client.destroy();
        document.destroy();
        resolve();
      }),
    );
  });
});
