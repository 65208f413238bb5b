/**
 * The update guard on its own: which updates it lets through and which it refuses, on documents
 * built in memory (the integration tests send the same kinds of updates over real sockets).
 */
import { expect } from "chai";
import * as Y from "yjs";
import { checkUpdate, type UpdateWriter } from "../../../../server/domain/comments/update-guard.ts";
import { COMMENTS, REACTIONS, THREADS, reactionKey, mentionsOf, parseReactionKey } from "../../../../protocol/comment-schema.ts";
import { commentValue, craftUpdate, threadValue } from "../../../helpers/comments.ts";

const writer = (userId: string, canWrite = true): UpdateWriter => ({ userId, canWrite, canWriteComments: true });
const thread = (d: Y.Doc) => d.getMap(THREADS).get("th1") as object;
const commenter = (userId: string): UpdateWriter => ({ userId, canWrite: false, canWriteComments: true });

function serverWith(build: (doc: Y.Doc) => void): Y.Doc {
  const doc = new Y.Doc();
  build(doc);
  return doc;
}

function verdict(server: Y.Doc, who: UpdateWriter, change: (doc: Y.Doc) => void) {
  return checkUpdate(server, craftUpdate(server, change), who);
}

describe("update guard", () => {
  const base = () =>
    serverWith((d) => {
      d.getText("content").insert(0, "hello");
      d.getMap(THREADS).set("th1", threadValue("th1", "alice"));
      d.getMap(COMMENTS).set("cm1", commentValue("cm1", "th1", "alice", "hi"));
    });

  it("lets a room writer type and tells that the update touched content", () => {
    const v = verdict(base(), writer("bob"), (d) => d.getText("content").insert(5, "!"));
    expect(v).to.deep.equal({ ok: true, touchesContent: true, touchesComments: false });
  });

  it("lets a commenter comment and react in their own name", () => {
    const v = verdict(base(), commenter("carol"), (d) => {
      d.getMap(COMMENTS).set("cm2", commentValue("cm2", "th1", "carol", "reply @alice"));
      d.getMap(REACTIONS).set(reactionKey({ commentId: "cm1", emoji: "👍", userId: "carol" }), { at: 1 });
    });
    expect(v).to.deep.equal({ ok: true, touchesContent: false, touchesComments: true });
  });

  it("lets an author edit and soft-delete their comment, and an offline create-then-edit through", () => {
    const server = base();
    expect(verdict(server, commenter("alice"), (d) => d.getMap(COMMENTS).set("cm1", { ...(d.getMap(COMMENTS).get("cm1") as object), body: "edited", editedAt: 2 })).ok).to.equal(true);
    const offline = verdict(server, commenter("dave"), (d) => {
      d.getMap(COMMENTS).set("cm9", commentValue("cm9", "th1", "dave", "draft"));
      d.getMap(COMMENTS).set("cm9", commentValue("cm9", "th1", "dave", "final"));
    });
    expect(offline.ok).to.equal(true);
  });

  it("passes an update the server already has (a reconnect's sync step 2)", () => {
    const server = base();
    expect(checkUpdate(server, Y.encodeStateAsUpdate(server), commenter("nobody"))).to.deep.equal({ ok: true, touchesContent: false, touchesComments: false });
  });

  const refusals: Array<[string, UpdateWriter, (d: Y.Doc) => void, string]> = [
    ["content from a commenter", commenter("carol"), (d) => d.getText("content").insert(0, "x"), "document_write_forbidden"],
    ["a new root from a commenter", commenter("carol"), (d) => d.getArray("other").push([1]), "document_write_forbidden"],
    ["a forged author", writer("mallory"), (d) => d.getMap(COMMENTS).set("cm2", commentValue("cm2", "th1", "alice", "x")), "comment_forged_author"],
    ["an edit by another", writer("mallory"), (d) => d.getMap(COMMENTS).set("cm1", commentValue("cm1", "th1", "alice", "x")), "comment_not_author"],
    ["a delete by another", writer("mallory"), (d) => d.getMap(COMMENTS).delete("cm1"), "comment_not_author"],
    ["an author changing the thread of a comment", writer("alice"), (d) => d.getMap(COMMENTS).set("cm1", { ...(d.getMap(COMMENTS).get("cm1") as object), threadId: "th2" }), "comment_immutable_field"],
    ["a comment in no thread", writer("bob"), (d) => d.getMap(COMMENTS).set("cm3", commentValue("cm3", "th_none", "bob", "x")), "comment_thread_missing"],
    ["a reaction in another's name", writer("mallory"), (d) => d.getMap(REACTIONS).set(reactionKey({ commentId: "cm1", emoji: "👍", userId: "alice" }), { at: 1 }), "reaction_forged_user"],
    ["a reaction on no comment", writer("bob"), (d) => d.getMap(REACTIONS).set(reactionKey({ commentId: "cm_none", emoji: "👍", userId: "bob" }), { at: 1 }), "comment_missing"],
    ["a thread created in another's name", writer("mallory"), (d) => d.getMap(THREADS).set("th2", threadValue("th2", "alice")), "thread_forged_author"],
    ["a resolution by a commenter who is not the author", commenter("carol"), (d) => d.getMap(THREADS).set("th1", { ...thread(d), resolved: true, resolvedBy: "carol", resolvedAt: 1 }), "thread_resolve_forbidden"],
    ["a thread's anchor moved", writer("alice"), (d) => d.getMap(THREADS).set("th1", { ...thread(d), anchor: { elementId: "other" } }), "thread_immutable_field"],
    ["a thread deleted by a commenter", commenter("carol"), (d) => d.getMap(THREADS).delete("th1"), "thread_not_owner"],
    ["a nested type", writer("alice"), (d) => d.getMap(COMMENTS).set("cm5", new Y.Map()), "comment_schema_invalid"],
    ["a comment root used as an array", writer("alice"), (d) => d.getArray(REACTIONS).push([1]), "comment_schema_invalid"],
    ["a body over 10 000 characters", writer("alice"), (d) => d.getMap(COMMENTS).set("cm6", commentValue("cm6", "th1", "alice", "x".repeat(10_001))), "comment_schema_invalid"],
  ];
  for (const [name, who, change, reason] of refusals) {
    it(`refuses ${name} (${reason})`, () => {
      const v = verdict(base(), who, change);
      expect(v.ok).to.equal(false);
      expect(v.ok ? null : v.reason).to.equal(reason);
    });
  }

  it("lets the author or a room writer resolve, in their own name", () => {
    const server = base();
    const resolveAs = (by: string) => (d: Y.Doc) => d.getMap(THREADS).set("th1", { ...thread(d), resolved: true, resolvedBy: by, resolvedAt: 1 });
    expect(verdict(server, commenter("alice"), resolveAs("alice")).ok).to.equal(true);
    expect(verdict(server, writer("erin"), resolveAs("erin")).ok).to.equal(true);
    const v = verdict(server, writer("erin"), resolveAs("alice"));
    expect(v.ok ? null : v.reason).to.equal("thread_resolve_forbidden");
  });

  it("follows long origin chains inside one update (an offline session)", () => {
    const server = base();
    const update = craftUpdate(server, (d) => {
      const text = d.getText("content");
      // Alternate ends so that no two inserts merge: 20 000 items, each chained to an earlier one.
      for (let i = 0; i < 20_000; i++) text.insert(i % 2 === 0 ? text.length : 5, "k");
    });
    expect(checkUpdate(server, update, writer("bob"))).to.deep.equal({ ok: true, touchesContent: true, touchesComments: false });
    const v = checkUpdate(server, update, commenter("carol"));
    expect(v.ok ? null : v.reason).to.equal("document_write_forbidden");
  });

  it("refuses an origin-less value that would win the key against the author's", () => {
    const server = base();
    const forged = new Y.Doc();
    forged.getMap(COMMENTS).set("cm1", commentValue("cm1", "th1", "mallory", "mine now"));
    const v = checkUpdate(server, Y.encodeStateAsUpdate(forged), writer("mallory"));
    expect(v.ok ? null : v.reason).to.equal("comment_not_author");
  });

  it("refuses new structs under another user's Yjs client id, not under one's own", () => {
    const server = base();
    const squat = new Y.Doc();
    Y.applyUpdate(squat, Y.encodeStateAsUpdate(server));
    squat.clientID = 4242;
    const sv = Y.encodeStateVector(squat);
    squat.getMap(COMMENTS).set("cm7", commentValue("cm7", "th1", "mallory", "squatting"));
    const update = Y.encodeStateAsUpdate(squat, sv);
    const v = checkUpdate(server, update, { ...writer("mallory"), ownerOf: (id: number) => (id === 4242 ? "alice" : undefined) });
    expect(v.ok ? null : v.reason).to.equal("client_id_taken");
    expect(checkUpdate(server, update, { ...writer("mallory"), ownerOf: (id: number) => (id === 4242 ? "mallory" : undefined) }).ok).to.equal(true);
    squat.destroy();
  });

  it("counts a new GC range as content (it joins no type but takes its ids)", () => {
    // V1 update: 1 client, 1 struct (client 777, clock 0, GC of length 5), empty delete set.
    const gcOnly = new Uint8Array([1, 1, 0x89, 0x06, 0, 0, 5, 0]);
    const v = checkUpdate(base(), gcOnly, commenter("carol"));
    expect(v.ok ? null : v.reason).to.equal("document_write_forbidden");
    expect(checkUpdate(base(), gcOnly, writer("bob")).ok).to.equal(true);
  });

  it("refuses bytes that are not an update", () => {
    const v = checkUpdate(base(), new Uint8Array([1, 200, 3, 4, 5]), writer("alice"));
    expect(v.ok ? null : v.reason).to.equal("invalid_update");
  });

  it("reads mentions from the body and the list, and reaction keys with | in the user id", () => {
    expect(mentionsOf({ body: "hi @bob and @carol.", mentions: ["dave"] }).sort()).to.deep.equal(["bob", "carol", "dave"]);
    expect(mentionsOf({ body: "mail me at x@bob.com", mentions: [] })).to.deep.equal([]);
    expect(parseReactionKey("cm1|👍|a|b")).to.deep.equal({ commentId: "cm1", emoji: "👍", userId: "a|b" });
    expect(parseReactionKey("cm1||u")).to.equal(null);
  });
});
