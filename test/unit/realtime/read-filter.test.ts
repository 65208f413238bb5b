import { expect } from "chai";
import * as Y from "yjs";
import { EMPTY_UPDATE, filterUpdate, withoutHiddenDeletions } from "../../../server/realtime/read-filter.ts";
import { COMMENTS, REACTIONS, THREADS } from "../../../protocol/comment-schema.ts";

const SECRET = "SECRET-CONTENT";

const has = (bytes: Uint8Array, needle: string) => Buffer.from(bytes).includes(Buffer.from(needle));

/** A writer's document, with the server's copy kept in step by applying every update to it. */
function room(): { writer: Y.Doc; server: Y.Doc; updates: Uint8Array[] } {
  const writer = new Y.Doc();
  const server = new Y.Doc();
  const updates: Uint8Array[] = [];
  writer.on("update", (update: Uint8Array) => {
    Y.applyUpdate(server, update);
    updates.push(update);
  });
  return { writer, server, updates };
}

function writeComments(doc: Y.Doc, n: number): void {
  doc.getMap(THREADS).set(`th_${n}`, { id: `th_${n}`, createdBy: "alice" });
  doc.getMap(COMMENTS).set(`cm_${n}`, { id: `cm_${n}`, threadId: `th_${n}`, body: `comment ${n}` });
  doc.getMap(REACTIONS).set(`cm_${n}:👍:alice`, { at: n });
}

function commentMaps(doc: Y.Doc): unknown {
  return [THREADS, COMMENTS, REACTIONS].map((name) => doc.getMap(name).toJSON());
}

describe("read filter", () => {
  it("a filtered state gives a fresh document the comment maps exactly and no content", () => {
    const { writer, server } = room();
    writer.getText("content").insert(0, `intro ${SECRET} outro`);
    writeComments(writer, 1);
    writer.getMap("settings").set("key", SECRET);
    writer.getArray("list").push([SECRET, { nested: SECRET }]);
    writeComments(writer, 2);
    writer.getText("content").delete(0, 6);
    writer.getMap(COMMENTS).delete("cm_2");

    const filtered = filterUpdate(server, Y.encodeStateAsUpdate(server), "comments");
    expect(has(filtered, SECRET)).to.equal(false);
    const reader = new Y.Doc();
    Y.applyUpdate(reader, filtered);
    expect(commentMaps(reader)).to.deep.equal(commentMaps(server));
    expect(reader.getText("content").toString()).to.equal("");
    expect(reader.getMap("settings").size).to.equal(0);
    expect(reader.getArray("list").length).to.equal(0);
    // Same clocks as the server: nothing pending, the state vectors agree.
    expect(reader.store.pendingStructs).to.equal(null);
    expect(Y.encodeStateVector(reader)).to.deep.equal(Y.encodeStateVector(server));
  });

  it("later filtered updates still integrate, a mixed update keeps only its comment part", () => {
    const { writer, server, updates } = room();
    writer.getText("content").insert(0, "first ");
    writeComments(writer, 1);
    const reader = new Y.Doc();
    Y.applyUpdate(reader, filterUpdate(server, Y.encodeStateAsUpdate(server), "comments"));

    updates.length = 0;
    writer.getText("content").insert(0, `${SECRET} `); // content, then a comment under the same client id
    writer.transact(() => {
      writer.getText("content").insert(3, SECRET);
      writer.getMap("settings").set("k", SECRET);
      writeComments(writer, 2);
      writer.getText("content").insert(0, SECRET);
    });
    writer.getMap(THREADS).set("th_1", { id: "th_1", createdBy: "alice", resolved: true });
    for (const update of updates) {
      const filtered = filterUpdate(server, update, "comments");
      expect(has(filtered, SECRET)).to.equal(false);
      expect(filtered.length).to.be.at.most(update.length);
      Y.applyUpdate(reader, filtered);
    }
    expect(reader.store.pendingStructs).to.equal(null);
    expect(commentMaps(reader)).to.deep.equal(commentMaps(server));
    expect(reader.getText("content").toString()).to.equal("");
    expect(Y.encodeStateVector(reader)).to.deep.equal(Y.encodeStateVector(server));
  });

  it("merges a client's consecutive content into one GC run", () => {
    const { writer, server } = room();
    for (let i = 0; i < 200; i++) writer.getText("content").insert(i, "x");
    writer.getMap("m").set("a", 1);
    for (let i = 0; i < 200; i++) writer.getText("content").insert(0, "y");
    const filtered = filterUpdate(server, Y.encodeStateAsUpdate(server), "comments");
    const { structs } = Y.decodeUpdate(filtered);
    expect(structs).to.have.length(1);
    expect(structs[0]).to.be.instanceOf(Y.GC);
    expect(structs[0]!.length).to.equal(401);
  });

  it("a nested type under a comment key arrives empty: its children are content", () => {
    const { writer, server } = room();
    const nested = new Y.Text();
    writer.getMap(THREADS).set("th_x", nested);
    nested.insert(0, SECRET);
    writer.getMap(THREADS).set("th_y", { id: "th_y" });
    const filtered = filterUpdate(server, Y.encodeStateAsUpdate(server), "comments");
    expect(has(filtered, SECRET)).to.equal(false);
    const reader = new Y.Doc();
    Y.applyUpdate(reader, filtered);
    expect((reader.getMap(THREADS).get("th_x") as Y.Text).toString()).to.equal("");
    expect(reader.getMap(THREADS).get("th_y")).to.deep.equal({ id: "th_y" });
  });

  it("leaves out structs the server holds as pending, and sends them once they integrate", () => {
    const a = new Y.Doc();
    const server = new Y.Doc();
    a.getText("content").insert(0, "base ");
    const first = Y.encodeStateAsUpdate(a);
    const sv = Y.encodeStateVector(a);
    a.getText("content").insert(0, SECRET);
    a.getMap(COMMENTS).set("cm_1", { id: "cm_1", body: "late" });
    const second = Y.encodeStateAsUpdate(a, sv);
    Y.applyUpdate(server, second); // depends on `first`: pending
    expect(server.store.pendingStructs).to.not.equal(null);

    const reader = new Y.Doc();
    const filtered = filterUpdate(server, Y.encodeStateAsUpdate(server), "comments");
    expect(has(filtered, SECRET)).to.equal(false);
    expect(has(filtered, "late")).to.equal(false);
    Y.applyUpdate(reader, filtered);

    let broadcast: Uint8Array | null = null;
    server.on("update", (u: Uint8Array) => (broadcast = u));
    Y.applyUpdate(server, first);
    expect(server.store.pendingStructs).to.equal(null);
    const later = filterUpdate(server, broadcast!, "comments");
    expect(has(later, SECRET)).to.equal(false);
    Y.applyUpdate(reader, later);
    expect(reader.getMap(COMMENTS).toJSON()).to.deep.equal({ cm_1: { id: "cm_1", body: "late" } });
    expect(reader.store.pendingStructs).to.equal(null);
  });

  it("gives the presence level nothing of the document", () => {
    const { writer, server } = room();
    writer.getText("content").insert(0, SECRET);
    writeComments(writer, 1);
    expect(filterUpdate(server, Y.encodeStateAsUpdate(server), "presence")).to.deep.equal(EMPTY_UPDATE);
  });

  it("drops from a restricted client's update only the deletions of ranges it was sent as GC", () => {
    const { writer, server } = room();
    writer.getText("content").insert(0, `${SECRET} and more`);
    writeComments(writer, 1);
    writeComments(writer, 2);
    const reader = new Y.Doc();
    Y.applyUpdate(reader, filterUpdate(server, Y.encodeStateAsUpdate(server), "comments"));

    // What a provider sends in reply to the server's sync step 1: its whole delete set, GC included.
    const step2 = Y.encodeStateAsUpdate(reader, Y.encodeStateVector(server));
    expect(Y.decodeUpdate(step2).ds.clients.size).to.equal(1);
    const cleaned = withoutHiddenDeletions(server, step2);
    expect(Y.decodeUpdate(cleaned).ds.clients.size).to.equal(0);

    // A real removal of a comment, with a new comment, keeps both (the guard judges them).
    const before = Y.encodeStateVector(reader);
    reader.getMap(COMMENTS).delete("cm_1");
    reader.getMap(COMMENTS).set("cm_3", { id: "cm_3" });
    const change = Y.encodeStateAsUpdate(reader, before);
    const kept = withoutHiddenDeletions(server, change);
    const decoded = Y.decodeUpdate(kept);
    expect(decoded.structs).to.have.length(1);
    const ranges = [...decoded.ds.clients.values()].flat().map((r) => ({ clock: r.clock, len: r.len }));
    const cm1 = [...server.store.clients.get(writer.clientID)!].find((s) => s instanceof Y.Item && s.parentSub === "cm_1")!;
    expect(ranges).to.deep.equal([{ clock: cm1.id.clock, len: 1 }]);
    Y.applyUpdate(server, kept);
    expect(server.getMap(COMMENTS).has("cm_1")).to.equal(false);
    expect(server.getMap(COMMENTS).has("cm_3")).to.equal(true);
    expect(server.getText("content").toString()).to.include(SECRET);

    // Deletions of ids the server does not have yet stay, for the guard to refuse.
    const unknown = new Y.Doc();
    unknown.clientID = 424242;
    unknown.getText("content").insert(0, "abc");
    unknown.getText("content").delete(0, 3);
    const dsOnly = Y.encodeStateAsUpdate(unknown);
    const onlyDs = Y.mergeUpdates([dsOnly]);
    expect(withoutHiddenDeletions(server, onlyDs)).to.equal(onlyDs);
  });
});
