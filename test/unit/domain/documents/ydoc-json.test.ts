/**
 * A document's roots as JSON with their types told from content, and JSON changes made into an
 * update (server/domain/documents/ydoc-json.ts), without typing or changing the document read.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { readDocumentJson, RootTypeMismatch, updateFromChanges } from "../../../../server/domain/documents/ydoc-json.ts";

/** What a server holds: the writer's updates applied to a document whose roots are untyped. */
function serverCopy(write: (doc: Y.Doc) => void): Y.Doc {
  const client = new Y.Doc();
  write(client);
  const server = new Y.Doc();
  Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
  return server;
}

describe("the document as JSON", () => {
  const doc = serverCopy((d) => {
    d.getText("content").insert(0, "héllo");
    d.getMap("settings").set("theme", "dark");
    d.getArray("items").push([1, "a", { b: true }]);
    d.getArray("letters").push(["x", "y"]);
    const p = new Y.XmlElement("p");
    p.insert(0, [new Y.XmlText("hi")]);
    d.getXmlFragment("prosemirror").insert(0, [p]);
    d.getText("emptied").insert(0, "gone");
    d.getText("emptied").delete(0, 4);
  });

  it("tells each root's type from its content and leaves empty roots out", () => {
    expect(readDocumentJson(doc)).to.deep.equal({
      content: "héllo",
      settings: { theme: "dark" },
      items: [1, "a", { b: true }],
      letters: ["x", "y"],
      prosemirror: "<p>hi</p>",
    });
    expect(readDocumentJson(doc, { key: "emptied" })).to.equal(null);
    expect(readDocumentJson(doc, { key: "emptied", type: "text" })).to.equal("");
    expect(readDocumentJson(doc, { key: "content", type: "array" })).to.deep.equal(["h", "é", "l", "l", "o"]);
    expect(readDocumentJson(doc, { key: "missing" })).to.equal(undefined);
  });

  it("never types the roots of the document it reads", () => {
    readDocumentJson(doc, { key: "settings", type: "text" });
    expect(() => doc.getMap("settings")).to.not.throw();
    expect(doc.getMap("settings").get("theme")).to.equal("dark");
  });
});

describe("JSON changes as an update", () => {
  it("makes the update of text, map and array changes without changing the source", () => {
    const doc = serverCopy((d) => {
      d.getText("content").insert(0, "hello world");
      d.getArray("items").push([1, 2, 3]);
    });
    const before = Y.encodeStateAsUpdate(doc);
    const update = updateFromChanges(doc, [
      { type: "text", key: "content", text: "hello big world" },
      { type: "map", key: "settings", set: { a: 1 } },
      { type: "array", key: "items", delete: { index: 0, length: 1 }, insert: ["z"], index: 1 },
    ]);
    expect(Y.encodeStateAsUpdate(doc)).to.deep.equal(before);
    const client = new Y.Doc();
    Y.applyUpdate(client, before);
    Y.applyUpdate(client, update!);
    expect(client.getText("content").toString()).to.equal("hello big world");
    expect(client.getMap("settings").toJSON()).to.deep.equal({ a: 1 });
    expect(client.getArray("items").toJSON()).to.deep.equal([2, "z", 3]);
  });

  it("changes nothing for a no-op, refuses a root of another type and an index out of range", () => {
    const doc = serverCopy((d) => d.getText("content").insert(0, "same"));
    expect(updateFromChanges(doc, [{ type: "text", key: "content", text: "same" }])).to.equal(null);
    expect(() => updateFromChanges(doc, [{ type: "map", key: "content", set: { a: 1 } }])).to.throw(RootTypeMismatch);
    expect(() => updateFromChanges(doc, [{ type: "array", key: "list", insert: [1], index: 3 }])).to.throw(RangeError);
  });
});
