/**
 * The Hocuspocus 4.7.0 internals the awareness gate relies on (server/realtime/awareness-gate.ts).
 * If one of these fails after an upgrade, re-check the gate before changing the test.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { Awareness, encodeAwarenessUpdate } from "y-protocols/awareness";
import { Connection, Document } from "@hocuspocus/server";

function fakeSocket() {
  const sent: Uint8Array[] = [];
  return { sent, readyState: 1, send: (m: Uint8Array) => sent.push(m), close: () => {} };
}

describe("Hocuspocus internals used by the awareness gate", () => {
  it("Document.applyAwarenessUpdate records the ids against the connection, broadcasts, and Connection.close removes them", async () => {
    const document = new Document("doc");
    const ws = fakeSocket();
    const connection = new Connection(ws as never, new Request("http://localhost/"), document, "socket-1", {}, false, null, null);
    expect(connection.sessionId).to.equal(null);
    expect(connection.document).to.equal(document);

    const client = new Awareness(new Y.Doc());
    client.setLocalState({ a: 1 });
    document.applyAwarenessUpdate(connection, encodeAwarenessUpdate(client, [client.clientID]));
    expect(document.awareness.getStates().get(client.clientID)).to.deep.equal({ a: 1 });
    expect([...document.getClients(connection)]).to.deep.equal([client.clientID]);
    await new Promise((r) => setTimeout(r, 5)); // flushDelay 0: broadcast on the next timer turn
    expect(ws.sent.length).to.be.greaterThan(0);

    let closed = false;
    connection.onClose(() => (closed = true));
    connection.close();
    expect(closed).to.equal(true);
    expect(document.awareness.getStates().has(client.clientID)).to.equal(false);
    client.destroy();
    document.destroy();
  });

  it("Connection exposes waitForPendingMessages", () => {
    expect(Connection.prototype.waitForPendingMessages).to.be.a("function");
  });
  it("Document keeps the awareness changes of the turn in pendingAwarenessClients, and flush() broadcasts them at once", () => {
    const document = new Document("doc");
    const ws = fakeSocket();
    const connection = new Connection(ws as never, new Request("http://localhost/"), document, "socket-1", {}, false, null, null);
    document.addConnection(connection);
    const client = new Awareness(new Y.Doc());
    client.setLocalState({ a: 1 });
    document.applyAwarenessUpdate(connection, encodeAwarenessUpdate(client, [client.clientID]));
    const pending = (document as unknown as { pendingAwarenessClients: Set<number> }).pendingAwarenessClients;
    expect(pending).to.be.instanceOf(Set);
    expect([...pending]).to.deep.equal([client.clientID]);
    const before = ws.sent.length;
    document.flush();
    expect(pending.size).to.equal(0);
    expect(ws.sent.length).to.equal(before + 1);
    connection.close();
    client.destroy();
    document.destroy();
  });

  it("Document keeps its connections in a Map, document updates in pendingUpdates, the scheduled flush in cancelFlush; Connection keeps its socket in webSocket", async () => {
    // What flushAwareness reads to write an awareness-only flush itself (awareness-gate.ts).
    const document = new Document("doc");
    const ws = fakeSocket();
    const connection = new Connection(ws as never, new Request("http://localhost/"), document, "socket-1", {}, false, null, null);
    document.addConnection(connection);
    const internals = document as unknown as {
      connections: Map<Connection, unknown>;
      pendingUpdates: Uint8Array[];
      cancelFlush: (() => void) | null;
    };
    expect(connection.webSocket).to.equal(ws);
    expect(internals.connections).to.be.instanceOf(Map);
    expect([...internals.connections.keys()]).to.deep.equal([connection]);
    expect(internals.pendingUpdates).to.deep.equal([]);
    expect(internals.cancelFlush).to.equal(null);

    const client = new Awareness(new Y.Doc());
    client.setLocalState({ a: 1 });
    document.applyAwarenessUpdate(connection, encodeAwarenessUpdate(client, [client.clientID]));
    expect(internals.cancelFlush, "a flush is scheduled").to.be.a("function");
    const other = new Y.Doc();
    other.getText("t").insert(0, "x");
    Y.applyUpdate(document, Y.encodeStateAsUpdate(other));
    expect(internals.pendingUpdates).to.have.length(1);
    // Cancelling the scheduled flush leaves nothing sent by it.
    const before = ws.sent.length;
    internals.cancelFlush!();
    internals.cancelFlush = null;
    await new Promise((r) => setTimeout(r, 5));
    expect(ws.sent.length).to.equal(before);
    document.flush();
    expect(internals.pendingUpdates).to.deep.equal([]);
    connection.close();
    client.destroy();
    other.destroy();
    document.destroy();
  });
});
