import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { waitFor } from "../../helpers/clients.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { createClient, toRelativeSelection, type Client, type Room } from "../../../client/core/index.ts";

type Types = {
  Presence: { tool?: string; selectedId?: string | null };
  UserInfo: { name?: string; color?: string; avatar?: string };
  ThreadMetadata: Record<string, never>;
};

describe("client SDK core against the real server", () => {
  let server: TestServer;
  let backend: AuthBackend;
  const clients: Client<Types>[] = [];

  before(async () => {
    server = await startServer();
    backend = await startAuthBackend({
      users: { alice: { name: "Alice", color: "#ff0000" }, bob: { name: "Bob" } },
    });
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await backend.close();
    await server.close();
  });

  function client(userId: string, throttle = 16): Client<Types> {
    const c = createClient<Types>({ url: server.httpUrl, authEndpoint: backend.url(userId), throttle, reconnect: FAST_RECONNECT });
    clients.push(c);
    return c;
  }

  async function enter(userId: string, roomId: string): Promise<Room<Types>> {
    const room = client(userId).enterRoom(roomId, { initialPresence: { tool: "pen" } });
    await room.waitUntilSynced();
    return room;
  }

  it("two clients see each other's presence, with the user stamped from the token, and typing", async () => {
    const roomId = `presence-${randomUUID()}`;
    const a = await enter("alice", roomId);
    const b = await enter("bob", roomId);
    expect(a.getStatus()).to.equal("connected");
    expect(a.getSelf()).to.include({ id: "alice" });
    expect(a.getSelf()!.info).to.include({ name: "Alice", color: "#ff0000" });

    await waitFor(() => a.getOthers().length === 1 && b.getOthers().length === 1, 5000, "both see the other");
    const bobSeenByAlice = a.getOthers()[0]!;
    expect(bobSeenByAlice.id).to.equal("bob");
    expect(bobSeenByAlice.info.name).to.equal("Bob");
    expect(bobSeenByAlice.info.color).to.match(/^#/); // the server stamps a colour when the token has none
    expect(bobSeenByAlice.presence).to.deep.equal({ tool: "pen" });

    b.updatePresence({ selectedId: "shape-1" });
    expect(b.getSelf()!.presence).to.deep.equal({ tool: "pen", selectedId: "shape-1" }); // at once, locally
    await waitFor(() => a.getOthers()[0]?.presence.selectedId === "shape-1", 5000, "presence update");
    expect(a.getOthers()[0]!.presence.tool).to.equal("pen"); // a patch, not a replacement

    b.setTyping(true);
    await waitFor(() => a.getOthers()[0]?.isTyping === true, 5000, "typing");
    b.setTyping(false);
    await waitFor(() => a.getOthers()[0]?.isTyping === false, 5000, "typing stopped");

    b.leave();
    expect(b.getStatus()).to.equal("disconnected");
    await waitFor(() => a.getOthers().length === 0, 5000, "bob gone");
  });

  it("keeps the others array and unchanged users identical between unrelated updates", async () => {
    const roomId = `stable-${randomUUID()}`;
    const a = await enter("alice", roomId);
    const b = await enter("bob", roomId);
    await waitFor(() => a.getOthers().length === 1, 5000, "bob seen");
    const before = a.getOthers();
    let notified = 0;
    const off = a.events.others.subscribe(() => notified++);
    a.updatePresence({ tool: "eraser" }); // my own change: others do not change
    await new Promise((r) => setTimeout(r, 200));
    expect(a.getOthers()).to.equal(before);
    expect(notified).to.equal(0);
    b.updatePresence({ tool: "brush" });
    await waitFor(() => a.getOthers()[0]?.presence.tool === "brush", 5000, "bob's change");
    expect(a.getOthers()).to.not.equal(before);
    off();
  });

  it("cursors: a remote pointer arrives with its label and colour and glides to its position", async () => {
    const roomId = `cursors-${randomUUID()}`;
    const a = await enter("alice", roomId);
    const b = await enter("bob", roomId);
    a.updateCursor({ x: 10, y: 20 });
    await waitFor(() => b.getCursors().length === 1, 5000, "cursor appears");
    expect(b.getCursors()[0]).to.include({ userId: "alice", name: "Alice", color: "#ff0000", x: 10, y: 20 });

    const frames: number[] = [];
    const off = b.events.cursors.subscribe((cursors) => frames.push(cursors[0]?.x ?? NaN));
    a.updateCursor({ x: 410, y: 20 });
    await waitFor(() => b.getCursors()[0]?.x === 410, 5000, "cursor reaches its target");
    off();
    // Interpolated: intermediate positions were drawn between 10 and 410, in order.
    const between = frames.filter((x) => x > 10 && x < 410);
    expect(between.length).to.be.greaterThan(0);
    expect([...frames].sort((p, q) => p - q)).to.deep.equal(frames);

    a.updateCursor(null);
    await waitFor(() => b.getCursors().length === 0, 5000, "cursor hidden");
  });

  it("selections are shared as relative positions and survive concurrent edits", async () => {
    const roomId = `selections-${randomUUID()}`;
    const a = await enter("alice", roomId);
    const b = await enter("bob", roomId);
    const textA = a.doc.getText("content");
    const textB = b.doc.getText("content");
    textA.insert(0, "hello world");
    await waitFor(() => textB.toString() === "hello world", 5000, "text synced");

    a.setSelection(textA, 6, 11); // "world"
    await waitFor(() => b.getSelections(textB).length === 1, 5000, "selection arrives");
    expect(b.getSelections(textB)[0]).to.include({ from: 6, to: 11 });
    expect(b.getSelections(textB)[0]!.user.id).to.equal("alice");

    // Both edit before the selection, concurrently: it still covers "world" everywhere.
    textB.insert(0, "Oh, ");
    textA.insert(5, ",");
    await waitFor(() => textA.toString() === textB.toString() && textA.length === 16, 5000, "edits converge");
    const sel = b.getSelections(textB)[0]!;
    expect(textB.toString().slice(sel.from, sel.to)).to.equal("world");
    expect(textB.toString()).to.equal("Oh, hello, world");
  });

  it("presence updates keep what an editor binding wrote to the awareness (its cursor)", async () => {
    const roomId = `binding-${randomUUID()}`;
    const a = await enter("alice", roomId);
    const b = await enter("bob", roomId);
    const textA = a.doc.getText("content");
    textA.insert(0, "hello");
    // What y-codemirror / y-prosemirror do: set `cursor` on the awareness directly.
    a.awareness.setLocalStateField("cursor", toRelativeSelection(textA, 1, 4));
    a.updatePresence({ tool: "marker" });
    await waitFor(() => b.getOthers()[0]?.presence.tool === "marker", 5000, "presence arrives");
    const textB = b.doc.getText("content");
    await waitFor(() => textB.toString() === "hello", 5000, "text");
    expect(b.getSelections(textB)[0]).to.include({ from: 1, to: 4 });
  });

  it("leaving and destroying close everything on the server", async () => {
    const roomId = `leave-${randomUUID()}`;
    const c = client("alice");
    const one = c.enterRoom(roomId);
    const two = c.enterRoom(roomId); // the same room, held twice
    expect(two).to.equal(one);
    await one.waitUntilSynced();
    const other = c.enterRoom(`${roomId}-2`);
    await other.waitUntilSynced();
    expect(server.app.hocuspocus.getConnectionsCount()).to.be.greaterThan(0);
    one.leave();
    expect(one.getStatus()).to.equal("connected"); // still held once
    two.leave();
    expect(one.getStatus()).to.equal("disconnected");
    c.destroy();
    expect(other.getStatus()).to.equal("disconnected");
    await waitFor(() => server.app.hocuspocus.getConnectionsCount() === 0, 5000, "server connections closed");
    expect(() => c.enterRoom(roomId)).to.throw(/destroyed/);
  });
});
