/**
 * Server-side authorisation of comment writes: raw `ws` clients send hand-crafted Yjs updates that
 * forge, edit, delete or react in someone else's name, or change content with only comments:write.
 * Each is refused with 4403 and a specific reason, and neither the other clients, the server's
 * document nor the stored copy ever contains it.
 */
import { expect } from "chai";
import * as Y from "yjs";
import * as decoding from "lib0/decoding";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { readStored } from "../../helpers/documents.ts";
import { addComment, commentValue, craftUpdate, createThread, react, recordSeen, resolve, threadValue } from "../../helpers/comments.ts";
import { COMMENTS, REACTIONS, THREADS, reactionKey } from "../../../protocol/comment-schema.ts";
import { MessageType } from "../../../protocol/messages.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const ORG = "org-comments";

describe("comment write authorisation (raw clients)", () => {
  let server: TestServer;
  const clients: TestProvider[] = [];
  const sockets: RawSocket[] = [];
  let room: string;
  let n = 0;

  // The server's own Database: Sequelize models are module-level classes, so opening a second
  // Database in this process would rebind them away from the server's pool.
  before(async () => {
    server = await startServer();
  });
  beforeEach(async () => {
    await truncateAll();
    room = `guard-${++n}`;
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
  });

  const token = (userId: string, perms: string[]) =>
    mintToken({ userId, orgId: ORG, permissions: { [room]: perms as never } });

  async function connect(userId: string, perms: string[]): Promise<TestProvider> {
    const c = connectProvider(server.collabUrl, room, await token(userId, perms));
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  async function raw(userId: string, perms: string[]): Promise<RawSocket> {
    const s = await openRawSocket(server.collabUrl);
    sockets.push(s);
    s.send(authFrame(room, await token(userId, perms)));
    await waitForAuthenticated(s);
    return s;
  }

  function closeReason(s: RawSocket): string | null {
    for (const frame of s.received) {
      const d = decoding.createDecoder(frame);
      decoding.readVarString(d);
      if (decoding.readVarUint(d) === MessageType.Close) return decoding.readVarString(d);
    }
    return null;
  }

  /** Send a crafted update and expect the refusal: Close message and socket close 4403 with `reason`. */
  async function expectRefused(s: RawSocket, update: Uint8Array, reason: string): Promise<void> {
    s.send(updateFrame(room, update));
    const closed = await s.closed;
    expect(closed).to.deep.equal({ code: 4403, reason });
    expect(closeReason(s)).to.equal(reason);
  }

  function serverDoc(): Y.Doc {
    return server.app.hocuspocus.documents.get(toDocumentName(ORG, room))!;
  }

  /** The document the database holds (snapshot + update log), after every pending store. */
  async function storedDoc(): Promise<Y.Doc> {
    server.app.hocuspocus.flushPendingStores();
    await server.app.updateLog.drain();
    const stored = await readStored(server.app.db, ORG, room);
    const doc = new Y.Doc();
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    for (const row of stored.log) Y.applyUpdate(doc, row.data);
    return doc;
  }

  /** A harmless write after the refusal: proves the room still works and nothing refused slipped in before it. */
  async function settle(writer: TestProvider, observer: TestProvider): Promise<void> {
    const marker = `marker-${Date.now()}`;
    writer.doc.getMap("app").set("marker", marker);
    await waitFor(() => observer.doc.getMap("app").get("marker") === marker, 5000, "marker");
  }

  it("refuses a new comment written in another user's name", async () => {
    const alice = await connect("alice", ["room:write"]);
    const bob = await connect("bob", ["room:write"]);
    const seen = recordSeen(bob.doc);
    const { threadId } = createThread(alice.doc, "alice", "first");
    await waitForAcked(alice);
    await waitFor(() => bob.doc.getMap(THREADS).has(threadId), 5000, "thread at bob");

    const mallory = await raw("mallory", ["comments:write", "room:read"]);
    const forged = craftUpdate(alice.doc, (d) => d.getMap(COMMENTS).set("cm_forged", commentValue("cm_forged", threadId, "alice", "I, alice, agree")));
    await expectRefused(mallory, forged, "comment_forged_author");

    await settle(alice, bob);
    expect(serverDoc().getMap(COMMENTS).has("cm_forged")).to.equal(false);
    expect(bob.doc.getMap(COMMENTS).has("cm_forged")).to.equal(false);
    expect(seen.values.some((v) => (v as { key: string }).key === "cm_forged")).to.equal(false);
    expect((await storedDoc()).getMap(COMMENTS).has("cm_forged")).to.equal(false);
  });

  it("refuses editing and deleting someone else's comment, also by a room writer", async () => {
    const alice = await connect("alice", ["room:write"]);
    const bob = await connect("bob", ["room:write"]);
    const seen = recordSeen(bob.doc);
    const { commentId } = createThread(alice.doc, "alice", "original words");
    await waitForAcked(alice);
    await waitFor(() => bob.doc.getMap(COMMENTS).has(commentId), 5000, "comment at bob");

    const editor = await raw("mallory", ["room:write"]);
    const edit = craftUpdate(alice.doc, (d) => {
      const c = d.getMap(COMMENTS).get(commentId) as object;
      d.getMap(COMMENTS).set(commentId, { ...c, body: "words alice never wrote" });
    });
    await expectRefused(editor, edit, "comment_not_author");

    const deleter = await raw("mallory", ["comments:write"]);
    const removal = craftUpdate(alice.doc, (d) => d.getMap(COMMENTS).delete(commentId));
    await expectRefused(deleter, removal, "comment_not_author");

    // The conflict trick: a value for the same key without an origin, which Yjs may order after Alice's.
    const sneaky = await raw("mallory", ["comments:write"]);
    const fresh = new Y.Doc();
    fresh.getMap(COMMENTS).set(commentId, commentValue(commentId, "th_x", "mallory", "overwritten"));
    await expectRefused(sneaky, Y.encodeStateAsUpdate(fresh), "comment_not_author");
    fresh.destroy();

    await settle(alice, bob);
    for (const doc of [serverDoc(), bob.doc, await storedDoc()]) {
      expect((doc.getMap(COMMENTS).get(commentId) as { body: string }).body).to.equal("original words");
    }
    expect(seen.values.every((v) => JSON.stringify(v).includes("original words") || !JSON.stringify(v).includes(commentId))).to.equal(true);
  });

  it("refuses a reaction added or removed in another user's name", async () => {
    const alice = await connect("alice", ["room:write"]);
    const bob = await connect("bob", ["comments:write", "room:read"]);
    const { commentId } = createThread(alice.doc, "alice", "react to me");
    await waitFor(() => bob.doc.getMap(COMMENTS).has(commentId), 5000, "comment at bob");
    react(bob.doc, commentId, "👍", "bob");
    await waitForAcked(bob);
    await waitFor(() => alice.doc.getMap(REACTIONS).size === 1, 5000, "bob's reaction at alice");

    const forged = await raw("mallory", ["comments:write"]);
    await expectRefused(forged, craftUpdate(alice.doc, (d) => react(d, commentId, "🎉", "bob")), "reaction_forged_user");
    const removal = await raw("mallory", ["comments:write"]);
    const bobsKey = reactionKey({ commentId, emoji: "👍", userId: "bob" });
    await expectRefused(removal, craftUpdate(alice.doc, (d) => d.getMap(REACTIONS).delete(bobsKey)), "reaction_forged_user");

    await settle(alice, bob);
    for (const doc of [serverDoc(), alice.doc, await storedDoc()]) {
      expect([...doc.getMap(REACTIONS).keys()]).to.deep.equal([bobsKey]);
    }
  });

  it("lets comments:write comment but never change document content", async () => {
    const alice = await connect("alice", ["room:write"]);
    alice.text.insert(0, "the contract");
    const { threadId } = createThread(alice.doc, "alice", "look");
    await waitForAcked(alice);
    const seen = recordSeen(alice.doc);

    // A real provider with comments:write: its comment goes through.
    const carol = await connect("carol", ["comments:write", "room:read"]);
    await waitFor(() => carol.doc.getMap(THREADS).has(threadId), 5000, "thread at carol");
    const reply = addComment(carol.doc, "carol", threadId, "I agree");
    await waitFor(() => alice.doc.getMap(COMMENTS).has(reply), 5000, "carol's reply at alice");

    const typing = await raw("carol", ["comments:write", "room:read"]);
    await expectRefused(typing, craftUpdate(alice.doc, (d) => d.getText("content").insert(0, "VOID ")), "document_write_forbidden");
    const deleting = await raw("carol", ["comments:write", "room:read"]);
    await expectRefused(deleting, craftUpdate(alice.doc, (d) => d.getText("content").delete(0, 4)), "document_write_forbidden");
    // Mixing a legitimate comment with a content change refuses the whole update.
    const mixed = await raw("carol", ["comments:write", "room:read"]);
    const both = craftUpdate(alice.doc, (d) => {
      addComment(d, "carol", threadId, "innocent");
      d.getText("content").insert(12, " (void)");
    });
    await expectRefused(mixed, both, "document_write_forbidden");
    // Deleting ids the server does not have yet (Yjs would apply it to whoever writes them later)
    // cannot be judged: refused as such, with "try again later" (pending-origins.test.ts).
    const future = await raw("carol", ["comments:write", "room:read"]);
    const ds = new Y.Doc();
    ds.clientID = alice.doc.clientID;
    Y.applyUpdate(ds, Y.encodeStateAsUpdate(alice.doc));
    const sv = Y.encodeStateVector(ds);
    ds.getText("content").insert(12, "0123456789");
    ds.getText("content").delete(12, 10);
    const full = Y.encodeStateAsUpdate(ds, sv);
    // Keep only the delete set: the structs it refers to are "in the future" for the server.
    future.send(updateFrame(room, deleteSetOnly(full)));
    expect(await future.closed).to.deep.equal({ code: 1013, reason: "update_dependencies_missing" });
    ds.destroy();

    await settle(alice, carol);
    expect(serverDoc().getText("content").toString()).to.equal("the contract");
    expect((await storedDoc()).getText("content").toString()).to.equal("the contract");
    expect(seen.texts.every((t) => t === "the contract")).to.equal(true);
    expect(carol.text.toString()).to.equal("the contract");
  });

  it("lets a thread be resolved by its author or a room writer, not by another commenter", async () => {
    const alice = await connect("alice", ["comments:write", "room:read"]);
    const { threadId } = createThread(alice.doc, "alice", "resolve me");
    await waitForAcked(alice);
    const other = await raw("dave", ["comments:write", "room:read"]);
    await expectRefused(other, craftUpdate(alice.doc, (d) => resolve(d, threadId, "dave")), "thread_resolve_forbidden");
    const inAliceName = await raw("dave", ["room:write"]);
    await expectRefused(inAliceName, craftUpdate(alice.doc, (d) => resolve(d, threadId, "alice")), "thread_resolve_forbidden");

    const writer = await connect("erin", ["room:write"]);
    await waitFor(() => writer.doc.getMap(THREADS).has(threadId), 5000, "thread at erin");
    resolve(writer.doc, threadId, "erin");
    await waitFor(() => (alice.doc.getMap(THREADS).get(threadId) as { resolvedBy: string | null }).resolvedBy === "erin", 5000, "resolution");
  });

  it("refuses comment values that are not plain JSON per key", async () => {
    const alice = await connect("alice", ["room:write"]);
    createThread(alice.doc, "alice", "x");
    await waitForAcked(alice);
    const s = await raw("alice", ["room:write"]);
    const nested = craftUpdate(alice.doc, (d) => d.getMap(THREADS).set("th_nested", new Y.Map()));
    await expectRefused(s, nested, "comment_schema_invalid");
    const wrongId = await raw("alice", ["room:write"]);
    await expectRefused(wrongId, craftUpdate(alice.doc, (d) => d.getMap(THREADS).set("th_a", threadValue("th_b", "alice"))), "comment_schema_invalid");
  });

  it("closes only the refused room on a socket that carries two", async () => {
    const alice = await connect("alice", ["room:write"]);
    const { commentId } = createThread(alice.doc, "alice", "mine");
    await waitForAcked(alice);
    const other = `${room}-other`;
    const s = await openRawSocket(server.collabUrl);
    sockets.push(s);
    const both = await mintToken({ userId: "mallory", orgId: ORG, permissions: { [room]: ["comments:write"], [other]: ["comments:write"] } });
    s.send(authFrame(room, both));
    s.send(authFrame(other, both));
    await waitForAuthenticated(s);
    await waitFor(() => s.received.filter((f) => { const d = decoding.createDecoder(f); return decoding.readVarString(d) === other && decoding.readVarUint(d) === MessageType.Auth; }).length > 0, 5000, "second room authenticated");
    s.send(updateFrame(room, craftUpdate(alice.doc, (d) => d.getMap(COMMENTS).delete(commentId))));
    await waitFor(() => closeReason(s) === "comment_not_author", 5000, "close message for the refused room");
    // The socket stays open and the other room still takes mallory's own comment.
    const legit = new Y.Doc();
    const ids = createThread(legit, "mallory", "in the other room");
    s.send(updateFrame(other, Y.encodeStateAsUpdate(legit)));
    const otherName = toDocumentName(ORG, other);
    await waitFor(() => (server.app.hocuspocus.documents.get(otherName)?.getMap(COMMENTS).has(ids.commentId) ?? false), 5000, "comment in the other room");
    expect(s.ws.readyState).to.equal(1);
    legit.destroy();
    expect(serverDoc().getMap(COMMENTS).has(commentId)).to.equal(true);
  });

  it("judges a relayed change against what is durable: another process's comment is not a forgery", async () => {
    const alice = await connect("alice", ["room:write"]);
    const { threadId } = createThread(alice.doc, "alice", "thread");
    await waitForAcked(alice);
    // dora's comment as another process took it in: logged durably, not (yet) in this process's copy.
    const seenElsewhere = new Y.Doc();
    Y.applyUpdate(seenElsewhere, Y.encodeStateAsUpdate(alice.doc));
    const sv = Y.encodeStateVector(seenElsewhere);
    const dorasComment = addComment(seenElsewhere, "dora", threadId, "said on process B");
    await server.app.updateLog.append(toDocumentName(ORG, room), Y.encodeStateAsUpdate(seenElsewhere, sv));
    expect(serverDoc().getMap(COMMENTS).has(dorasComment)).to.equal(false);

    // carol saw it there, reconnects here, and her sync carries dora's comment along with her reply.
    const carolsReply = addComment(seenElsewhere, "carol", threadId, "and I agree");
    const carol = await raw("carol", ["comments:write", "room:read"]);
    carol.send(updateFrame(room, Y.encodeStateAsUpdate(seenElsewhere, sv)));
    await waitFor(() => alice.doc.getMap(COMMENTS).has(carolsReply) && alice.doc.getMap(COMMENTS).has(dorasComment), 5000, "both comments at alice");
    expect(carol.ws.readyState).to.equal(1);
    expect(closeReason(carol)).to.equal(null);
    seenElsewhere.destroy();
  });

  it("refuses writes under another user's Yjs client id, which would pre-empt that user's edits", async () => {
    const alice = await connect("alice", ["room:write"]);
    const bob = await connect("bob", ["room:write"]);
    alice.provider.awareness!.setLocalStateField("user", { name: "alice" });
    alice.text.insert(0, "a");
    await waitForAcked(alice);
    await waitFor(() => server.app.presenceHub.ownerOf(toDocumentName(ORG, room), alice.doc.clientID) === "alice", 5000, "alice's awareness at the server");

    // mallory writes a comment of her own, but under alice's client id and her next clocks.
    const squat = new Y.Doc();
    Y.applyUpdate(squat, Y.encodeStateAsUpdate(alice.doc));
    squat.clientID = alice.doc.clientID; // after the sync, or Yjs would pick a new id for it
    const sv = Y.encodeStateVector(squat);
    createThread(squat, "mallory", "taking alice's clock range");
    const mallory = await raw("mallory", ["comments:write", "room:read"]);
    await expectRefused(mallory, Y.encodeStateAsUpdate(squat, sv), "client_id_taken");
    squat.destroy();

    // alice's own next edits still land everywhere.
    alice.text.insert(1, "b");
    await waitFor(() => bob.text.toString() === "ab", 5000, "alice's edit at bob");
    expect(serverDoc().getMap(THREADS).size).to.equal(0);
  });

  it("drops everything a viewer sends", async () => {
    const alice = await connect("alice", ["room:write"]);
    alice.text.insert(0, "stable");
    await waitForAcked(alice);
    const viewer = await connect("victor", ["room:read", "comments:read"]);
    await waitFor(() => viewer.text.toString() === "stable", 5000, "viewer sync");
    viewer.text.insert(0, "X");
    createThread(viewer.doc, "victor", "a viewer's comment");
    await settle(alice, viewer);
    expect(serverDoc().getText("content").toString()).to.equal("stable");
    expect(serverDoc().getMap(THREADS).size).to.equal(0);
    expect(alice.doc.getMap(COMMENTS).size).to.equal(0);
  });

  it("converges legitimate concurrent comments from two users", async () => {
    const alice = await connect("alice", ["room:write"]);
    const carol = await connect("carol", ["comments:write", "room:read"]);
    const { threadId } = createThread(alice.doc, "alice", "thread");
    await waitFor(() => carol.doc.getMap(THREADS).has(threadId), 5000, "thread at carol");
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(addComment(alice.doc, "alice", threadId, `a${i}`));
      ids.push(addComment(carol.doc, "carol", threadId, `c${i}`));
    }
    react(carol.doc, ids[0]!, "👍", "carol");
    react(alice.doc, ids[0]!, "👍", "alice");
    await waitFor(() => alice.doc.getMap(COMMENTS).size === 21 && carol.doc.getMap(COMMENTS).size === 21, 5000, "21 comments on both");
    await waitFor(() => alice.doc.getMap(REACTIONS).size === 2 && carol.doc.getMap(REACTIONS).size === 2, 5000, "2 reactions on both");
    expect(alice.doc.getMap(COMMENTS).toJSON()).to.deep.equal(carol.doc.getMap(COMMENTS).toJSON());
    expect(serverDoc().getMap(COMMENTS).toJSON()).to.deep.equal(alice.doc.getMap(COMMENTS).toJSON());
  });
});

/** An update with no structs and only the delete set of `update` (V1: structs, then delete set). */
function deleteSetOnly(update: Uint8Array): Uint8Array {
  const { ds } = Y.decodeUpdate(update);
  const clients = [...ds.clients.entries()];
  const parts: number[] = [0, ...varUint(clients.length)];
  for (const [client, items] of clients) {
    parts.push(...varUint(client), ...varUint(items.length));
    for (const item of items) parts.push(...varUint(item.clock), ...varUint(item.len));
  }
  return new Uint8Array(parts);
}

function varUint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
