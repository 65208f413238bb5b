/**
 * Which comment changes notify whom: replies notify the thread's other participants, reactions the
 * comment's author, resolutions the participants, edits that add a mention the mentioned user —
 * never the user who acted — from client writes and server-side writes alike.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { addComment, createThread, react } from "../../helpers/comments.ts";
import { COMMENTS } from "../../../protocol/comment-schema.ts";

const ORG = "org-kinds";
const ROOM = "kinds-room";

describe("notification kinds from comment changes", () => {
  let server: TestServer;
  const clients: TestProvider[] = [];

  before(async () => {
    await truncateAll();
    server = await startServer();
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(() => server.close());

  async function connect(userId: string): Promise<TestProvider> {
    const token = await mintToken({ userId, orgId: ORG, permissions: { [ROOM]: ["comments:write", "room:read"] } });
    const c = connectProvider(server.collabUrl, ROOM, token);
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  async function kindsFor(userId: string, count: number): Promise<string[]> {
    let kinds: string[] = [];
    for (let i = 0; i < 250; i++) {
      const page = await server.app.comments.notifications.list(ORG, userId);
      kinds = page.data.map((n) => n.kind).reverse();
      if (kinds.length >= count) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return kinds;
  }

  it("notifies participants, authors and mentioned users, never the actor", async () => {
    const alice = await connect("alice");
    const bob = await connect("bob");
    const { threadId, commentId } = createThread(alice.doc, "alice", "a question");
    await waitFor(() => bob.doc.getMap(COMMENTS).has(commentId), 5000, "thread at bob");

    const bobsReply = addComment(bob.doc, "bob", threadId, "an answer");
    expect(await kindsFor("alice", 1)).to.deep.equal(["reply"]);

    await waitFor(() => alice.doc.getMap(COMMENTS).has(bobsReply), 5000, "reply at alice");
    react(bob.doc, commentId, "❤️", "bob");
    react(alice.doc, commentId, "👍", "alice"); // her own comment: no notification
    expect(await kindsFor("alice", 2)).to.deep.equal(["reply", "reaction"]);

    // Server-side resolution by carol (REST path): both participants hear of it.
    await server.app.comments.comments.setResolved(ORG, ROOM, threadId, { userId: "carol", resolved: true });
    expect(await kindsFor("alice", 3)).to.deep.equal(["reply", "reaction", "thread_resolved"]);
    expect(await kindsFor("bob", 1)).to.deep.equal(["thread_resolved"]);

    // An edit that adds a mention notifies only the newly mentioned user.
    const reply = bob.doc.getMap(COMMENTS).get(bobsReply) as { body: string };
    bob.doc.getMap(COMMENTS).set(bobsReply, { ...reply, body: "an answer, cc @dave", editedAt: Date.now() });
    expect(await kindsFor("dave", 1)).to.deep.equal(["mention"]);

    expect(await server.app.comments.notifications.list(ORG, "carol").then((p) => p.data.length)).to.equal(0);
    expect((await server.app.comments.notifications.list(ORG, "alice")).data.map((n) => n.actorId).reverse()).to.deep.equal(["bob", "bob", "carol"]);
  });
});
