/**
 * The bookkeeping of document copies: a copy counts from the start of its load until it is
 * destroyed; a copy that never finished loading is forgotten when the next load of its name starts
 * (Hocuspocus loads one copy of a name at a time, so it failed), a loaded one only when destroyed.
 */
import { expect } from "chai";
import { Document } from "@hocuspocus/server";
import { DocumentCopies } from "../../../server/realtime/document-copies.ts";

describe("document copies", () => {
  const documents: Document[] = [];
  const copy = (name: string) => {
    const document = new Document(name);
    documents.push(document);
    return document;
  };
  afterEach(() => {
    while (documents.length) documents.pop()!.destroy();
  });

  it("holds a copy from the start of its load until it is destroyed", () => {
    const copies = new DocumentCopies();
    const a = copy("room-a");
    expect(copies.has("room-a")).to.equal(false);
    copies.loading(a);
    expect(copies.of("room-a")).to.deep.equal([a]);
    copies.loaded(a);
    expect(copies.has("room-a")).to.equal(true);
    a.destroy();
    expect(copies.has("room-a")).to.equal(false);
  });

  it("forgets a copy whose load failed when the name is loaded again, not one still unloading", () => {
    const copies = new DocumentCopies();
    const failed = copy("room-b");
    copies.loading(failed);
    const unloading = copy("room-b");
    copies.loading(unloading);
    expect(copies.of("room-b")).to.deep.equal([unloading]);
    copies.loaded(unloading);
    const next = copy("room-b");
    copies.loading(next);
    expect(copies.of("room-b")).to.deep.equal([unloading, next]);
    unloading.destroy();
    expect(copies.of("room-b")).to.deep.equal([next]);
    copies.forget(next);
    expect(copies.has("room-b")).to.equal(false);
  });
});
