/**
 * Updates that name ids the server does not have yet, sent over real sockets on /collab and /yjs.
 * Yjs would park such an update as pending and place it once the named ids arrive — next to the
 * victim's next edit, where the comment guard never judged it. Each attack first lets the victim
 * make that next edit, then checks that the server's document, another client and the document
 * reloaded from the database never show the attacker's change, and that the attacker was refused.
 * A legitimate client whose update depends on an edit the server has not seen reconnects and lands it.
 */
import { expect } from "chai";
import * as Y from "yjs";
import * as encoding from "lib0/encoding";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced } from "../../helpers/clients.ts";
import { connectYws } from "../../helpers/yws.ts";
import { openRawSocket, authFrame, updateFrame, waitForAuthenticated, type RawSocket } from "../../helpers/raw-socket.ts";
import { commentValue, createThread } from "../../helpers/comments.ts";
import { encodeDeletes, encodeItems, nextClock } from "../../helpers/crafted-updates.ts";
import { COMMENTS } from "../../../protocol/comment-schema.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

const ORG = "org-pending";
const REFUSED = { code: 1013, reason: "update_dependencies_missing" };
type Edge = "collab" | "yjs";

interface Peer {
  doc: Y.Doc;
  /** Updates applied with this origin are not sent by the provider (as if they came from the server). */
  origin: unknown;
  /** WebSocket close codes the provider saw. */
  closes: number[];
  destroy(): void;
}

describe("comment guard: updates that name ids the server does not have", () => {
  let server: TestServer;
  const peers: Peer[] = [];
  const sockets: RawSocket[] = [];
  let room: string;
  let n = 0;
  let nextAttacker = 900_000;

  before(async () => {
    server = await startServer();
  });
  beforeEach(async () => {
    await truncateAll();
    room = `pending-${++n}`;
  });
  afterEach(async () => {
    while (peers.length) peers.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
  });
  after(async () => {
    await server.close();
  });

  const token = (userId: string, perms: string[]) => mintToken({ userId, orgId: ORG, permissions: { [room]: perms as never } });
  const documentName = () => toDocumentName(ORG, room);
  const serverDoc = () => server.app.hocuspocus.documents.get(documentName())!;

  async function peer(edge: Edge, userId: string, perms: string[]): Promise<Peer> {
    const closes: number[] = [];
    let p: Peer;
    if (edge === "collab") {
      const c = connectProvider(server.collabUrl, room, await token(userId, perms));
      c.socket.on("close", ({ event }: { event: { code: number } }) => closes.push(event.code));
      p = { doc: c.doc, origin: c.provider, closes, destroy: c.destroy };
      peers.push(p);
      await waitForSynced(c);
    } else {
      const c = connectYws(server.httpUrl, room, await token(userId, perms));
      c.provider.on("connection-close", (event: CloseEvent | null) => closes.push(event?.code ?? 0));
      p = { doc: c.doc, origin: c.provider, closes, destroy: c.destroy };
      peers.push(p);
      await waitFor(() => c.provider.synced, 5000, "y-websocket sync");
    }
    return p;
  }

  /** Resolves once the server's document has everything `p` wrote itself. */
  function landed(p: Peer): Promise<void> {
    const client = p.doc.clientID;
    return waitFor(() => nextClock(serverDoc(), client) >= nextClock(p.doc, client), 5000, "the server to have the peer's edit");
  }

  /** A raw socket that sends crafted updates on either endpoint. */
  async function attacker(edge: Edge, userId: string, perms: string[]): Promise<{ send(update: Uint8Array): void; closed: Promise<{ code: number; reason: string }> }> {
    const t = await token(userId, perms);
    if (edge === "collab") {
      const s = await openRawSocket(server.collabUrl);
      sockets.push(s);
      s.send(authFrame(room, t));
      await waitForAuthenticated(s);
      return { send: (u) => s.send(updateFrame(room, u)), closed: s.closed };
    }
    const s = await openRawSocket(`${server.httpUrl.replace(/^http/, "ws")}/yjs/${encodeURIComponent(room)}?token=${encodeURIComponent(t)}`);
    sockets.push(s);
    const sync = (step: number, payload: Uint8Array) => {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0); // y-websocket: sync
      encoding.writeVarUint(e, step); // y-protocols: 0 step 1, 2 update
      encoding.writeVarUint8Array(e, payload);
      s.send(encoding.toUint8Array(e));
    };
    sync(0, new Uint8Array([0]));
    await waitFor(() => s.received.length > 0, 5000, "the server's sync step 2");
    return { send: (u) => sync(2, u), closed: s.closed };
  }

  async function expectRefused(closed: Promise<{ code: number; reason: string }>): Promise<void> {
    const result = await Promise.race([closed, new Promise((r) => setTimeout(() => r("still open"), 3000))]);
    expect(result, "the attacker's socket").to.deep.equal(REFUSED);
  }

  /** Once the named ids exist, the same bytes are judged where they land: refused for good (4403). */
  async function resendRefused(edge: Edge, userId: string, perms: string[], update: Uint8Array, reason: string): Promise<void> {
    const again = await attacker(edge, userId, perms);
    again.send(update);
    const result = await Promise.race([again.closed, new Promise((r) => setTimeout(() => r("still open"), 3000))]);
    expect(result, "the resent update").to.deep.equal({ code: 4403, reason });
  }

  /** Close every client, wait for the server to unload the document, and open it again from the database. */
  async function reload(): Promise<Y.Doc> {
    while (peers.length) peers.pop()!.destroy();
    while (sockets.length) await sockets.pop()!.close();
    await waitFor(() => !server.app.hocuspocus.documents.has(documentName()), 10_000, "the document to unload");
    return (await peer("collab", "reader", ["room:read", "comments:read"])).doc;
  }

  /** Alice (room:write) with text, a map value and a thread; vera (comments:write) with her comment; an observer. */
  async function scene(edge: Edge) {
    const alice = await peer(edge, "alice", ["room:write"]);
    alice.doc.getText("content").insert(0, "hello");
    alice.doc.getMap("app").set("title", "v1");
    const { threadId } = createThread(alice.doc, "alice", "a thread");
    await landed(alice);
    const vera = await peer(edge, "vera", ["comments:write", "room:read"]);
    await waitFor(() => vera.doc.getMap("sf:threads").has(threadId), 5000, "thread at vera");
    const verasComment = commentValue("cm_vera", threadId, "vera", "vera's words");
    vera.doc.getMap(COMMENTS).set("cm_vera", verasComment);
    await landed(vera);
    const observer = await peer("collab", "olga", ["room:read", "comments:read"]);
    await waitFor(() => observer.doc.getMap(COMMENTS).has("cm_vera"), 5000, "vera's comment at the observer");
    return { alice, vera, observer, threadId, verasComment };
  }

  /** Mallory's own comment under a fresh client id at clock 0, sent raw: the right origin a commenter's attack hides behind. */
  async function mallorysComment(edge: Edge, perms: string[], threadId: string) {
    const client = ++nextAttacker;
    const mine = commentValue(`cm_mallory_${client}`, threadId, "mallory", "mine");
    const mallory = await attacker(edge, "mallory", perms);
    mallory.send(encodeItems(client, 0, [{ parent: COMMENTS, parentSub: mine.id, value: mine }]));
    await waitFor(() => serverDoc().getMap(COMMENTS).has(mine.id), 5000, "mallory's own comment");
    return { mallory, client, mine, myComment: Y.createID(client, 0) };
  }

  /** A harmless write by alice after the victim's edit: once the observer has it, it has everything before it. */
  async function settle(alice: Peer, observer: Peer): Promise<void> {
    const marker = `marker-${Date.now()}`;
    alice.doc.getMap("marks").set("marker", marker);
    await waitFor(() => observer.doc.getMap("marks").get("marker") === marker, 5000, "the marker at the observer");
  }

  const veraEdits = (vera: Peer, value: object) => vera.doc.getMap(COMMENTS).set("cm_vera", { ...value, body: "vera edits", editedAt: Date.now() });

  for (const edge of ["collab", "yjs"] as const) {
    describe(`on /${edge}`, () => {
      it("a commenter's value aimed left of a writer's next map write never becomes content", async () => {
        const { alice, observer, threadId } = await scene(edge);
        const { mallory, client, mine, myComment } = await mallorysComment(edge, ["comments:write", "room:read"], threadId);
        const next = Y.createID(alice.doc.clientID, nextClock(alice.doc, alice.doc.clientID));
        const attack = encodeItems(client, 1, [{ origin: next, rightOrigin: myComment, value: { ...mine, body: "edited" } }]);
        mallory.send(attack);
        await new Promise((r) => setTimeout(r, 100));
        alice.doc.getMap("app").set("title", "v2");
        await landed(alice);
        await settle(alice, observer);
        for (const doc of [serverDoc(), observer.doc]) expect(doc.getMap("app").get("title")).to.equal("v2");
        await expectRefused(mallory.closed);
        await resendRefused(edge, "mallory", ["comments:write", "room:read"], attack, "document_write_forbidden");
        expect((await reload()).getMap("app").get("title")).to.equal("v2");
      });

      it("a commenter's item aimed into a writer's next text insert is never spliced in", async () => {
        const { alice, observer, threadId } = await scene(edge);
        const { mallory, client, mine, myComment } = await mallorysComment(edge, ["comments:write", "room:read"], threadId);
        const next = Y.createID(alice.doc.clientID, nextClock(alice.doc, alice.doc.clientID) + 1);
        const attack = encodeItems(client, 1, [{ origin: next, rightOrigin: myComment, value: { ...mine, body: "edited" } }]);
        mallory.send(attack);
        await new Promise((r) => setTimeout(r, 100));
        alice.doc.getText("content").insert(5, "abc");
        await landed(alice);
        await settle(alice, observer);
        // An item that is not text would count in the length (shifting every index) but not in the string.
        for (const doc of [serverDoc(), observer.doc]) expect(doc.getText("content").length).to.equal("helloabc".length);
        await expectRefused(mallory.closed);
        await resendRefused(edge, "mallory", ["comments:write", "room:read"], attack, "document_write_forbidden");
        const reloaded = (await reload()).getText("content");
        expect([reloaded.toString(), reloaded.length]).to.deep.equal(["helloabc", 8]);
      });

      it("a commenter cannot replace another user's comment through that user's next id", async () => {
        const { alice, vera, observer, threadId, verasComment } = await scene(edge);
        const { mallory, client, mine, myComment } = await mallorysComment(edge, ["comments:write", "room:read"], threadId);
        const next = Y.createID(vera.doc.clientID, nextClock(vera.doc, vera.doc.clientID));
        const attack = encodeItems(client, 1, [{ origin: next, rightOrigin: myComment, value: { ...mine, body: "edited" } }]);
        mallory.send(attack);
        await new Promise((r) => setTimeout(r, 100));
        veraEdits(vera, verasComment);
        await landed(vera);
        await settle(alice, observer);
        for (const doc of [serverDoc(), observer.doc]) {
          expect(doc.getMap(COMMENTS).get("cm_vera")).to.include({ authorId: "vera", body: "vera edits" });
        }
        await expectRefused(mallory.closed);
        await resendRefused(edge, "mallory", ["comments:write", "room:read"], attack, "comment_schema_invalid"); // its id is not the key
        expect((await reload()).getMap(COMMENTS).get("cm_vera")).to.include({ authorId: "vera", body: "vera edits" });
      });

      it("a room writer cannot forge a comment through another user's next id", async () => {
        const { alice, vera, observer, verasComment } = await scene(edge);
        const mallory = await attacker(edge, "mallory", ["room:write"]);
        const next = Y.createID(vera.doc.clientID, nextClock(vera.doc, vera.doc.clientID));
        const attack = encodeItems(++nextAttacker, 0, [{ origin: next, value: { ...verasComment, body: "forged" } }]);
        mallory.send(attack);
        await new Promise((r) => setTimeout(r, 100));
        veraEdits(vera, verasComment);
        await landed(vera);
        await settle(alice, observer);
        for (const doc of [serverDoc(), observer.doc]) expect(doc.getMap(COMMENTS).get("cm_vera")).to.include({ body: "vera edits" });
        await expectRefused(mallory.closed);
        await resendRefused(edge, "mallory", ["room:write"], attack, "comment_not_author");
        expect((await reload()).getMap(COMMENTS).get("cm_vera")).to.include({ body: "vera edits" });
      });

      it("a room writer cannot pre-delete another user's future comments", async () => {
        const { alice, vera, observer, threadId } = await scene(edge);
        const mallory = await attacker(edge, "mallory", ["room:write"]);
        const next = nextClock(vera.doc, vera.doc.clientID);
        mallory.send(encodeDeletes([{ client: vera.doc.clientID, clock: next, len: 50 }]));
        await new Promise((r) => setTimeout(r, 100));
        vera.doc.getMap(COMMENTS).set("cm_later", commentValue("cm_later", threadId, "vera", "said later"));
        await landed(vera);
        await settle(alice, observer);
        for (const doc of [serverDoc(), observer.doc]) expect(doc.getMap(COMMENTS).has("cm_later")).to.equal(true);
        await expectRefused(mallory.closed);
        await resendRefused(edge, "mallory", ["room:write"], encodeDeletes([{ client: vera.doc.clientID, clock: next, len: 1 }]), "comment_not_author");
        expect((await reload()).getMap(COMMENTS).has("cm_later")).to.equal(true);
      });

      it("a legitimate client whose edit depends on one the server has not seen reconnects and lands both", async () => {
        const alice = await peer(edge, "alice", ["room:write"]);
        alice.doc.getText("content").insert(0, "base");
        await landed(alice);
        const observer = await peer("collab", "olga", ["room:read"]);
        await waitFor(() => observer.doc.getText("content").toString() === "base", 5000, "base at the observer");
        // A second tab of alice's edits and hands its change over locally (as y-websocket's
        // BroadcastChannel does) before the server has it; alice types right after it.
        const tab = new Y.Doc();
        Y.applyUpdate(tab, Y.encodeStateAsUpdate(alice.doc));
        const sv = Y.encodeStateVector(tab);
        tab.getText("content").insert(4, " tab2");
        Y.applyUpdate(alice.doc, Y.encodeStateAsUpdate(tab, sv), alice.origin);
        tab.destroy();
        alice.doc.getText("content").insert(9, " tab1");
        await waitFor(() => observer.doc.getText("content").toString() === "base tab2 tab1", 10_000, "both edits at the observer");
        expect(serverDoc().getText("content").toString()).to.equal("base tab2 tab1");
        expect(alice.closes).to.include(REFUSED.code);
      });
    });
  }

  it("judges an update that depends on another process's durable edit after catching up from storage", async () => {
    const alice = await peer("collab", "alice", ["room:write"]);
    alice.doc.getText("content").insert(0, "base");
    await landed(alice);
    // An edit another process took in: logged durably, not (yet) in this process's copy.
    const elsewhere = new Y.Doc();
    Y.applyUpdate(elsewhere, Y.encodeStateAsUpdate(alice.doc));
    let sv = Y.encodeStateVector(elsewhere);
    elsewhere.getText("content").insert(4, " elsewhere");
    await server.app.updateLog.append(documentName(), Y.encodeStateAsUpdate(elsewhere, sv));
    // carol saw it there and types after it here: her update names an id this process lacks.
    sv = Y.encodeStateVector(elsewhere);
    elsewhere.clientID = ++nextAttacker;
    elsewhere.getText("content").insert(14, " carol");
    const carol = await attacker("collab", "carol", ["room:write"]);
    carol.send(Y.encodeStateAsUpdate(elsewhere, sv));
    await waitFor(() => alice.doc.getText("content").toString() === "base elsewhere carol", 5000, "both edits at alice");
    const result = await Promise.race([carol.closed, new Promise((r) => setTimeout(() => r("open"), 200))]);
    expect(result).to.equal("open");
    elsewhere.destroy();
  });
});
