/**
 * SyncForge reaches into two Hocuspocus internals (server/realtime/hocuspocus.ts): the
 * Connection.messageAddress getter and the awareness "update" listener loadDocument registers for
 * the onAwarenessUpdate hook. These tests fail when an upgrade changes what that relies on.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import * as Y from "yjs";
import { Awareness, encodeAwarenessUpdate } from "y-protocols/awareness";
import { Connection, Hocuspocus, type Document, type Extension, type onAwarenessUpdatePayload } from "@hocuspocus/server";
import {
  PINNED_HOCUSPOCUS_VERSION,
  hasAwarenessUpdateHook,
  hookListenersOf,
  installedHocuspocusVersion,
  lightenAwarenessUpdateHook,
  patchConnectionAddress,
} from "../../../server/realtime/hocuspocus.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("Hocuspocus internals we depend on", () => {
  it("is the pinned version, pinned exactly in package.json", () => {
    expect(installedHocuspocusVersion()).to.equal(PINNED_HOCUSPOCUS_VERSION);
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(pkg.dependencies["@hocuspocus/server"]).to.equal(PINNED_HOCUSPOCUS_VERSION);
    expect(pkg.dependencies["@hocuspocus/extension-redis"]).to.equal(PINNED_HOCUSPOCUS_VERSION);
  });

  it("Connection.messageAddress is a getter built from document.name and sessionId", () => {
    // Read the shipped source: the patch replaces the getter, so check the original's shape.
    const source = readFileSync(path.join(root, "node_modules/@hocuspocus/server/src/Connection.ts"), "utf8");
    expect(source).to.match(/get messageAddress\(\): string \{\s*return this\.sessionId\s*\?\s*`\$\{this\.document\.name\}\\0\$\{this\.sessionId\}`\s*:\s*this\.document\.name;/);
    const descriptor = Object.getOwnPropertyDescriptor(Connection.prototype, "messageAddress");
    expect(descriptor?.get, "a getter on the prototype").to.be.a("function");
  });

  it("the patched getter answers the client's plain room id, with the session when there is one", () => {
    patchConnectionAddress();
    const fake = (sessionId: string | null) =>
      Object.assign(Object.create(Connection.prototype) as Connection, { document: { name: toDocumentName("org-1", "demo") }, sessionId });
    expect(fake(null).messageAddress).to.equal("demo");
    expect(fake("s1").messageAddress).to.equal("demo\u0000s1");
  });

  it("every place Hocuspocus addresses a reply uses messageAddress or the raw key we rewrite", () => {
    // Connection and MessageReceiver must address replies through messageAddress; ClientConnection's
    // auth replies use the raw key, which collab-socket.ts rewrites on the way out.
    const dir = path.join(root, "node_modules/@hocuspocus/server/src");
    const connection = readFileSync(path.join(dir, "Connection.ts"), "utf8");
    const receiver = readFileSync(path.join(dir, "MessageReceiver.ts"), "utf8");
    const client = readFileSync(path.join(dir, "ClientConnection.ts"), "utf8");
    expect(connection.match(/new OutgoingMessage\(([^)]*)\)/g)?.every((m) => m.includes("this.messageAddress"))).to.equal(true);
    expect(connection).to.contain("message.writeVarString(this.messageAddress)");
    expect(receiver).to.contain("const messageAddress = connection?.messageAddress ?? document.name;");
    expect(client.match(/new OutgoingMessage\(([^)]*)\)/g)).to.deep.equal([
      "new OutgoingMessage(responseAddress)",
      "new OutgoingMessage(responseAddress)",
    ]);
  });

  describe("the onAwarenessUpdate listener", () => {
    const request = () => new Request("http://localhost/");
    const load = (hocuspocus: Hocuspocus, name: string) =>
      (hocuspocus as unknown as { createDocument(...args: unknown[]): Promise<Document> }).createDocument(name, request(), "socket-1", { readOnly: false, isAuthenticated: true }, {});
    const updateListeners = (document: Document) =>
      (document.awareness as unknown as { _observers: Map<string, Set<unknown>> })._observers.get("update")?.size ?? 0;
    const connections: Connection[] = [];
    afterEach(() => {
      for (const connection of connections.splice(0)) connection.close();
    });
    function setState(document: Document, state: Record<string, unknown>): number {
      const client = new Awareness(new Y.Doc());
      client.setLocalState(state);
      const connection = new Connection(
        { readyState: 1, send: () => {}, close: () => {} } as never,
        request(),
        document,
        "socket-1",
        {},
        false,
        null,
        null,
      );
      connections.push(connection);
      document.applyAwarenessUpdate(connection, encodeAwarenessUpdate(client, [client.clientID]));
      client.destroy();
      return client.clientID;
    }

    it("is one listener per document, registered by loadDocument, that copies every state for each update", async () => {
      // Unpatched: Hocuspocus' own listener computes `states` eagerly.
      const seen: onAwarenessUpdatePayload[] = [];
      const hocuspocus = new Hocuspocus({ quiet: true, extensions: [{ onAwarenessUpdate: async (p: onAwarenessUpdatePayload) => void seen.push(p) } as Extension] });
      const document = await load(hocuspocus, "doc-a");
      expect(hookListenersOf(document)).to.have.length(1);
      expect(updateListeners(document)).to.equal(2); // Document's own broadcast listener + the hook's
      const source = readFileSync(path.join(root, "node_modules/@hocuspocus/server/src/Hocuspocus.ts"), "utf8");
      expect(source).to.match(/document\.awareness\.on\(\s*"update",\s*\(update: AwarenessUpdate, origin: unknown\) => \{\s*this\.hooks\("onAwarenessUpdate", \{/);
      expect(source).to.contain("states: awarenessStatesToArray(document.awareness.getStates()),");
      const clientId = setState(document, { a: 1 });
      await new Promise((r) => setImmediate(r));
      expect(seen).to.have.length(1);
      expect(seen[0]!.states).to.deep.equal([{ clientId, a: 1 }]);
      document.destroy();
    });

    it("lightened: runs the hook with the same payload, building states when read", async () => {
      const seen: onAwarenessUpdatePayload[] = [];
      const hocuspocus = new Hocuspocus({ quiet: true, extensions: [{ onAwarenessUpdate: async (p: onAwarenessUpdatePayload) => void seen.push(p) } as Extension] });
      lightenAwarenessUpdateHook(hocuspocus);
      const document = await load(hocuspocus, "doc-b");
      expect(hookListenersOf(document), "Hocuspocus' listener is replaced").to.have.length(0);
      expect(updateListeners(document)).to.equal(2);
      const clientId = setState(document, { a: 1 });
      await new Promise((r) => setImmediate(r));
      expect(seen).to.have.length(1);
      const payload = seen[0]!;
      expect(payload.added).to.deep.equal([clientId]);
      expect(payload.updated).to.deep.equal([]);
      expect(payload.removed).to.deep.equal([]);
      expect(payload.documentName).to.equal("doc-b");
      expect(payload.document).to.equal(document);
      expect(payload.instance).to.equal(hocuspocus);
      expect(payload.awareness).to.equal(document.awareness);
      expect(payload.connection).to.be.instanceOf(Connection);
      expect(payload.states).to.deep.equal([{ clientId, a: 1 }]);
      expect(payload.states).to.equal(payload.states, "built once");
      document.destroy();
    });

    it("counts an extension's hook or a configured one, not Hocuspocus' no-op default", () => {
      expect(hasAwarenessUpdateHook(new Hocuspocus({ quiet: true }))).to.equal(false);
      expect(hasAwarenessUpdateHook(new Hocuspocus({ quiet: true, extensions: [{ onAwarenessUpdate: async () => {} } as Extension] }))).to.equal(true);
      expect(hasAwarenessUpdateHook(new Hocuspocus({ quiet: true, onAwarenessUpdate: async () => {} }))).to.equal(true);
      expect(hasAwarenessUpdateHook(new Hocuspocus({ quiet: true, extensions: [{ onChange: async () => {} } as Extension] }))).to.equal(false);
    });

    it("lightened, with no extension that has the hook: no listener, and Document still broadcasts", async () => {
      const hocuspocus = new Hocuspocus({ quiet: true });
      lightenAwarenessUpdateHook(hocuspocus);
      const document = await load(hocuspocus, "doc-c");
      expect(hookListenersOf(document)).to.have.length(0);
      expect(updateListeners(document), "only Document's own").to.equal(1);
      setState(document, { a: 1 });
      expect((document as unknown as { pendingAwarenessClients: Set<number> }).pendingAwarenessClients.size).to.equal(1);
      document.destroy();
    });
  });
});
