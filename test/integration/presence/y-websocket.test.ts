import { expect } from "chai";
import * as Y from "yjs";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { connectYws, type YwsClient } from "../../helpers/yws.ts";
import { colorForUser } from "../../../server/realtime/awareness.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";

type State = Record<string, any>;

async function metric(server: TestServer, name: string, label = ""): Promise<number> {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + label + " ") || (label === "" && l.startsWith(name + " ")));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("the y-websocket endpoint /yjs/<room>?token=", () => {
  let server: TestServer;
  const hp: TestProvider[] = [];
  const yws: YwsClient[] = [];
  let counter = 0;
  let room: string;

  before(async () => {
    server = await startServer();
  });
  beforeEach(() => {
    room = `yws-${process.pid}-${++counter}`;
  });
  afterEach(() => {
    while (hp.length) hp.pop()!.destroy();
    while (yws.length) yws.pop()!.destroy();
  });
  after(() => server.close());

  async function hocuspocus(userId: string, permissions = { "*": ["room:write" as const] }): Promise<TestProvider> {
    const c = connectProvider(server.collabUrl, room, await mintToken({ userId, userInfo: { name: userId }, permissions }));
    hp.push(c);
    await waitForSynced(c);
    return c;
  }

  async function ywebsocket(userId: string, permissions: Record<string, string[]> = { "*": ["room:write"] }, roomId = room): Promise<YwsClient> {
    const c = connectYws(server.httpUrl, roomId, await mintToken({ userId, userInfo: { name: userId }, permissions: permissions as never }));
    yws.push(c);
    return c;
  }

  it("a y-websocket provider and a Hocuspocus provider converge on the document and on stamped awareness", async () => {
    const a = await ywebsocket("yws-user");
    await waitFor(() => a.provider.synced, 5000, "y-websocket sync");
    const b = await hocuspocus("hp-user");
    a.text.insert(0, "from y-websocket. ");
    b.text.insert(0, "from hocuspocus. ");
    await waitFor(() => a.text.toString() === b.text.toString() && a.text.length === 35, 5000, "convergence");

    a.provider.awareness.setLocalStateField("user", { id: "hp-user", name: "spoof" });
    a.provider.awareness.setLocalStateField("pointer", { x: 3, y: 4 });
    b.provider.setAwarenessField("typing", true);
    await waitFor(() => (b.provider.awareness!.getStates().get(a.doc.clientID) as State | undefined)?.pointer?.x === 3, 5000, "yws awareness at hp");
    await waitFor(() => (a.provider.awareness.getStates().get(b.doc.clientID) as State | undefined)?.typing === true, 5000, "hp awareness at yws");
    expect((b.provider.awareness!.getStates().get(a.doc.clientID) as State).user).to.deep.equal({
      id: "yws-user",
      name: "yws-user",
      color: colorForUser("yws-user"),
    });

    // Persistence: the server's document holds both edits.
    const doc = server.app.hocuspocus.documents.get(toDocumentName("org-test", room))!;
    expect(doc.getText("content").toString()).to.equal(a.text.toString());
  });

  it("a late y-websocket joiner receives the document and the awareness of everyone present", async () => {
    const b = await hocuspocus("hp-user");
    b.text.insert(0, "existing");
    b.provider.setAwarenessField("presence", { here: true });
    await waitFor(() => !b.provider.hasUnsyncedChanges, 5000, "ack");
    const a = await ywebsocket("late");
    await waitFor(() => a.provider.synced && a.text.toString() === "existing", 5000, "late sync");
    await waitFor(() => (a.provider.awareness.getStates().get(b.doc.clientID) as State | undefined)?.presence?.here === true, 5000, "awareness");
  });

  it("drops the echoes y-websocket clients send back for remote awareness before any work", async () => {
    const a = await ywebsocket("echoer");
    await waitFor(() => a.provider.synced, 5000, "sync");
    const b = await hocuspocus("mover");
    const before = await metric(server, "syncforge_awareness_entries_dropped_total", '{reason="not_owner"}');
    for (let i = 1; i <= 10; i++) {
      b.provider.setAwarenessField("pointer", { x: i, y: i });
      await waitFor(() => (a.provider.awareness.getStates().get(b.doc.clientID) as State | undefined)?.pointer?.x === i, 5000, `move ${i}`);
    }
    await waitFor(() => false, 200).catch(() => {});
    const dropped = (await metric(server, "syncforge_awareness_entries_dropped_total", '{reason="not_owner"}')) - before;
    expect(dropped).to.be.at.least(10);
  });

  it("refuses a missing or invalid token with 4401 and a room the token does not grant with 4403", async () => {
    const none = connectYws(server.httpUrl, room, null);
    yws.push(none);
    const bad = connectYws(server.httpUrl, room, "not-a-token");
    yws.push(bad);
    const other = await ywebsocket("u", { "other-room": ["room:write"] });
    const otherOrg = connectYws(server.httpUrl, room, await mintToken({ userId: "u", orgId: "org-other" }));
    yws.push(otherOrg);
    await waitFor(() => [none, bad, other].every((c) => c.closed !== null), 5000, "refusals");
    expect(none.closed!.code).to.equal(4401);
    expect(bad.closed!.code).to.equal(4401);
    expect(other.closed!.code).to.equal(4403);
    // Another organisation's token addresses its own document of that name, never ours.
    await waitFor(() => otherOrg.provider.synced, 5000, "other org syncs its own room");
    otherOrg.text.insert(0, "elsewhere");
    const mine = await hocuspocus("me");
    await waitFor(() => false, 200).catch(() => {});
    expect(mine.text.toString()).to.equal("");
    expect(none.provider.synced || bad.provider.synced || other.provider.synced).to.equal(false);
  });

  it("honours read-only: a room:read y-websocket client receives edits, its own are not applied, and it is still seen", async () => {
    const writer = await hocuspocus("writer");
    writer.text.insert(0, "shared");
    const reader = await ywebsocket("reader", { "*": ["room:read"] });
    await waitFor(() => reader.provider.synced && reader.text.toString() === "shared", 5000, "reader sync");
    reader.text.insert(0, "forbidden ");
    reader.provider.awareness.setLocalStateField("pointer", { x: 1, y: 1 });
    await waitFor(() => (writer.provider.awareness!.getStates().get(reader.doc.clientID) as State | undefined)?.user?.id === "reader", 5000, "reader seen");
    writer.text.insert(writer.text.length, "!");
    await waitFor(() => reader.text.toString().endsWith("shared!"), 5000, "reader gets later edits");
    expect(writer.text.toString()).to.equal("shared!");
    const doc = server.app.hocuspocus.documents.get(toDocumentName("org-test", room))!;
    expect(doc.getText("content").toString()).to.equal("shared!");
    expect(Y.encodeStateVector(doc)).to.not.deep.equal(Y.encodeStateVector(reader.doc));
  });
});
