/**
 * The update guard against updates Yjs could not place at once: items whose origins, right origins
 * or parents name ids the server does not have, gaps in a client's clocks, delete ranges over future
 * ids. Yjs would park them as pending and place them later next to whatever arrives under those ids
 * — where the guard never looked. Each attack is also applied to a copy of the server's document to
 * show where Yjs puts it once the victim's next edit arrives.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { checkUpdate, type UpdateWriter } from "../../../../server/domain/comments/update-guard.ts";
import { COMMENTS, THREADS } from "../../../../protocol/comment-schema.ts";
import { commentValue, craftUpdate, threadValue } from "../../../helpers/comments.ts";
import { encodeBlocks, encodeDeletes, encodeItems, nextClock } from "../../../helpers/crafted-updates.ts";

const UNPLACEABLE = "update_dependencies_missing";
const WRITER = 100; // alice's client id, a room writer
const VICTIM = 200; // vera's client id, a commenter
const MALLORY = 500;
const commenter = (userId: string): UpdateWriter => ({ userId, canWrite: false, canWriteComments: true });
const writer = (userId: string): UpdateWriter => ({ userId, canWrite: true, canWriteComments: true });
const id = Y.createID;

/** The server: alice's text, map and thread; vera's comment cm_v; mallory's comment cm_m at (MALLORY, 0). */
function room() {
  const server = new Y.Doc();
  const edit = (client: number, change: (d: Y.Doc) => void) => {
    const d = new Y.Doc();
    Y.applyUpdate(d, Y.encodeStateAsUpdate(server));
    d.clientID = client;
    const sv = Y.encodeStateVector(d);
    change(d);
    const update = Y.encodeStateAsUpdate(d, sv);
    Y.applyUpdate(server, update);
    d.destroy();
    return update;
  };
  edit(WRITER, (d) => {
    d.getText("content").insert(0, "hello");
    d.getMap("app").set("title", "v1");
    d.getMap(THREADS).set("th1", threadValue("th1", "alice"));
  });
  const vera = commentValue("cm_v", "th1", "vera", "vera's words");
  const mine = commentValue("cm_m", "th1", "mallory", "mine");
  edit(VICTIM, (d) => d.getMap(COMMENTS).set("cm_v", vera));
  edit(MALLORY, (d) => d.getMap(COMMENTS).set("cm_m", mine));
  return { server, edit, vera, mine, myComment: id(MALLORY, 0) };
}

function reason(v: ReturnType<typeof checkUpdate>): string | null {
  return v.ok ? null : v.reason;
}

/** What Yjs does with the update if it is let through, after the victim's next edit. */
function landed(server: Y.Doc, attack: Uint8Array, next: () => void): void {
  Y.applyUpdate(server, attack);
  next();
}

describe("update guard: updates that name ids the server does not have", () => {
  it("refuses a commenter's map value left of a writer's next id and right of their own comment", () => {
    const { server, edit, mine, myComment } = room();
    const attack = encodeItems(MALLORY, 1, [{ origin: id(WRITER, nextClock(server, WRITER)), rightOrigin: myComment, value: { ...mine, body: "edit" } }]);
    expect(reason(checkUpdate(server, attack, commenter("mallory")))).to.equal(UNPLACEABLE);
    // Why: let through, it becomes the value of alice's next key.
    landed(server, attack, () => edit(WRITER, (d) => d.getMap("app").set("title", "v2")));
    expect((server.getMap("app").get("title") as { authorId?: string }).authorId).to.equal("mallory");
  });

  it("refuses a commenter's item spliced into a writer's next text insert", () => {
    const { server, edit, mine, myComment } = room();
    const attack = encodeItems(MALLORY, 1, [{ origin: id(WRITER, nextClock(server, WRITER) + 1), rightOrigin: myComment, value: { ...mine, body: "edit" } }]);
    expect(reason(checkUpdate(server, attack, commenter("mallory")))).to.equal(UNPLACEABLE);
    landed(server, attack, () => edit(WRITER, (d) => d.getText("content").insert(5, "abc")));
    // An invisible item inside the text: it counts in the length (shifting every index) but not in the string.
    expect(server.getText("content").length).to.equal("helloabc".length + 1);
  });

  it("refuses a commenter's value aimed at another user's next comment write", () => {
    const { server, edit, vera, mine, myComment } = room();
    const attack = encodeItems(MALLORY, 1, [{ origin: id(VICTIM, nextClock(server, VICTIM)), rightOrigin: myComment, value: { ...mine, body: "edit" } }]);
    expect(reason(checkUpdate(server, attack, commenter("mallory")))).to.equal(UNPLACEABLE);
    landed(server, attack, () => edit(VICTIM, (d) => d.getMap(COMMENTS).set("cm_v", { ...vera, body: "vera edits", editedAt: 2 })));
    expect((server.getMap(COMMENTS).get("cm_v") as { authorId: string }).authorId).to.equal("mallory");
  });

  it("refuses a room writer's item whose only origin is another user's next id (a forged comment)", () => {
    const { server, edit, vera } = room();
    const attack = encodeItems(WRITER, nextClock(server, WRITER), [{ origin: id(VICTIM, nextClock(server, VICTIM)), value: { ...vera, body: "forged" } }]);
    expect(reason(checkUpdate(server, attack, writer("alice")))).to.equal(UNPLACEABLE);
    landed(server, attack, () => edit(VICTIM, (d) => d.getMap(COMMENTS).set("cm_v", { ...vera, body: "vera edits", editedAt: 2 })));
    expect((server.getMap(COMMENTS).get("cm_v") as { body: string }).body).to.equal("forged");
  });

  it("refuses a room writer's delete range over ids the server does not have (another user's future comments)", () => {
    const { server, edit } = room();
    const attack = encodeDeletes([{ client: VICTIM, clock: nextClock(server, VICTIM), len: 50 }]);
    expect(reason(checkUpdate(server, attack, writer("alice")))).to.equal(UNPLACEABLE);
    landed(server, attack, () => edit(VICTIM, (d) => d.getMap(COMMENTS).set("cm_v2", commentValue("cm_v2", "th1", "vera", "later"))));
    expect(server.getMap(COMMENTS).has("cm_v2")).to.equal(false);
  });

  it("refuses gaps: a client's structs starting beyond the server's state, or after a skip", () => {
    const { server } = room();
    const gap = encodeItems(MALLORY, 5, [{ parent: COMMENTS, parentSub: "cm_x", value: commentValue("cm_x", "th1", "mallory", "x") }]);
    expect(reason(checkUpdate(server, gap, commenter("mallory")))).to.equal(UNPLACEABLE);
    const skipped = encodeBlocks([{ client: MALLORY, clock: 1, structs: [{ kind: "skip", length: 3 }, { parent: COMMENTS, parentSub: "cm_x", value: commentValue("cm_x", "th1", "mallory", "x") }] }]);
    expect(reason(checkUpdate(server, skipped, commenter("mallory")))).to.equal(UNPLACEABLE);
  });

  it("refuses origins that point at themselves, later in their own client, at unknown parents, or in a cycle", () => {
    const { server, mine } = room();
    const value = { ...mine, body: "x" };
    const later = encodeItems(MALLORY, 1, [{ origin: id(MALLORY, 2), value }, { origin: id(MALLORY, 0), value }]);
    expect(reason(checkUpdate(server, later, commenter("mallory")))).to.equal(UNPLACEABLE);
    const parent = encodeItems(WRITER, nextClock(server, WRITER), [{ parent: id(VICTIM, 99), parentSub: "k", value: 1 }]);
    expect(reason(checkUpdate(server, parent, writer("alice")))).to.equal(UNPLACEABLE);
    const cycle = encodeBlocks([
      { client: MALLORY, clock: 1, structs: [{ origin: id(600, 0), value }] },
      { client: 600, clock: 0, structs: [{ origin: id(MALLORY, 1), value }] },
    ]);
    expect(reason(checkUpdate(server, cycle, writer("mallory")))).to.equal(UNPLACEABLE);
  });

  it("refuses an update that lists one client in two blocks (Yjs keeps only the last)", () => {
    const { server, mine } = room();
    const twice = encodeBlocks([
      { client: MALLORY, clock: 1, structs: [{ origin: id(MALLORY, 0), value: { ...mine, body: "a" } }] },
      { client: MALLORY, clock: 2, structs: [{ origin: id(MALLORY, 1), value: { ...mine, body: "b" } }] },
    ]);
    expect(reason(checkUpdate(server, twice, commenter("mallory")))).to.equal("invalid_update");
  });

  it("counts an item next to a GC struct as content: Yjs turns it into GC", () => {
    const { server, mine, myComment } = room();
    Y.applyUpdate(server, new Uint8Array([1, 1, 0x89, 0x06, 0, 0, 5, 0])); // client 777, GC of length 5
    const left = encodeItems(MALLORY, 1, [{ origin: id(777, 2), rightOrigin: myComment, value: { ...mine, body: "x" } }]);
    expect(reason(checkUpdate(server, left, commenter("mallory")))).to.equal("document_write_forbidden");
    const right = encodeItems(MALLORY, 1, [{ origin: myComment, rightOrigin: id(777, 2), value: { ...mine, body: "x" } }]);
    expect(reason(checkUpdate(server, right, commenter("mallory")))).to.equal("document_write_forbidden");
    expect(checkUpdate(server, right, writer("mallory")).ok).to.equal(true);
  });

  it("places what the same update brings: another client's edit and a comment that depends on it", () => {
    const { server } = room();
    // A client that saw bob's (client 300) text and comment elsewhere relays them with its own reply.
    const update = craftUpdate(server, (d) => {
      d.clientID = 300;
      d.getText("content").insert(5, " world");
      d.getMap(COMMENTS).set("cm_b", commentValue("cm_b", "th1", "bob", "bob's"));
      d.clientID = 301;
      d.getText("content").insert(11, "!");
      d.getMap(COMMENTS).set("cm_b", { ...commentValue("cm_b", "th1", "bob", "bob's"), body: "bob's, edited" });
    });
    expect(checkUpdate(server, update, writer("bob"))).to.deep.equal({ ok: true, touchesContent: true, touchesComments: true });
    const deletes = craftUpdate(server, (d) => {
      d.clientID = 302;
      d.getText("content").insert(0, "12345");
      d.getText("content").delete(0, 5);
    });
    expect(checkUpdate(server, deletes, writer("bob")).ok).to.equal(true);
  });
});
