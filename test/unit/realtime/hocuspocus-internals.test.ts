/**
 * SyncForge reaches into one Hocuspocus internal (server/realtime/hocuspocus.ts): the
 * Connection.messageAddress getter. These tests fail when an upgrade changes what that relies on.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { Connection } from "@hocuspocus/server";
import { PINNED_HOCUSPOCUS_VERSION, installedHocuspocusVersion, patchConnectionAddress } from "../../../server/realtime/hocuspocus.ts";
import { toDocumentName } from "../../../server/realtime/document-name.ts";

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
});
