/**
 * The activity feed of a room: a scripted session shows up in order (first joins, aggregated edits,
 * comments, replies, reactions, resolutions), live on the room's connections, and its cursor
 * pagination is stable while new activity arrives.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { startMailbox, createTeam, type Mailbox, type Team } from "../../helpers/accounts.ts";
import { addComment, createThread, react, resolve } from "../../helpers/comments.ts";

const ROOM = "activity-room";

interface Activity {
  id: string;
  kind: string;
  actorId: string | null;
  count: number;
  threadId: string | null;
  commentId: string | null;
}

describe("room activity feed", () => {
  let server: TestServer;
  let mailbox: Mailbox;
  let team: Team;
  const clients: TestProvider[] = [];

  before(async function () {
    this.timeout(60_000);
    await truncateAll();
    mailbox = await startMailbox();
    server = await startServer({ SMTP_URL: mailbox.smtpUrl });
    team = await createTeam(server.httpUrl, mailbox);
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await server.close();
    await mailbox.close();
  });

  async function connect(userId: string, live: Activity[] = []): Promise<TestProvider> {
    const token = await mintToken({ userId, orgId: team.orgId, permissions: { [ROOM]: ["room:write"] } });
    const c = connectProvider(server.collabUrl, ROOM, token);
    c.provider.on("stateless", ({ payload }: { payload: string }) => {
      const m = JSON.parse(payload) as { type: string; activity?: Activity };
      if (m.type === "sf:activity" && m.activity) live.push(m.activity);
    });
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  async function feed(query = ""): Promise<{ data: Activity[]; nextCursor: string | null }> {
    const res = await team.apiKey.client.get(`/organizations/${team.orgId}/rooms/${ROOM}/activity${query}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body;
  }

  async function until(kinds: string[]): Promise<Activity[]> {
    let data: Activity[] = [];
    const started = Date.now();
    for (;;) {
      data = (await feed("?limit=100")).data;
      if (data.map((a) => a.kind).join() === kinds.join()) return data;
      if (Date.now() - started > 5000) throw new Error(`feed is ${data.map((a) => a.kind).join()}, expected ${kinds.join()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it("shows a scripted session in order, live, with edits aggregated and stable pages", async () => {
    const watched: Activity[] = [];
    await connect("observer", watched);
    await until(["user_joined_first_time"]);

    const alice = await connect("alice");
    await until(["user_joined_first_time", "user_joined_first_time"]);
    // Edit windows are aligned to the wall clock's minutes (so every process agrees on them); the
    // eleven keystrokes below must fall in one window to be one row, so do not start them just
    // before a minute turns.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
    for (const ch of "hello world") {
      alice.text.insert(alice.text.length, ch);
      await waitForAcked(alice);
    }
    await until(["user_joined_first_time", "user_joined_first_time", "document_edited"]);
    const { threadId, commentId } = createThread(alice.doc, "alice", "first!");
    await until(["user_joined_first_time", "user_joined_first_time", "document_edited", "comment_created"]);

    const bob = await connect("bob");
    await waitFor(() => bob.doc.getMap("sf:threads").has(threadId), 5000, "thread at bob");
    const reply = addComment(bob.doc, "bob", threadId, "second", commentId);
    react(bob.doc, commentId, "👍", "bob");
    await waitForAcked(bob);
    resolve(alice.doc, threadId, "alice");
    const expected = [
      "user_joined_first_time",
      "user_joined_first_time",
      "document_edited",
      "comment_created",
      "user_joined_first_time",
      "reply_created",
      "reaction_added",
      "thread_resolved",
    ];
    // reply and reaction come in one update from bob; their order within it follows the map events.
    let data: Activity[] = [];
    const started = Date.now();
    while (Date.now() - started < 5000) {
      data = (await feed("?limit=100")).data;
      if (data.length === expected.length) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(data.map((a) => a.kind).slice(0, 5)).to.deep.equal(expected.slice(0, 5));
    expect(data.map((a) => a.kind).slice(5, 7).sort()).to.deep.equal(["reaction_added", "reply_created"]);
    expect(data[7]!.kind).to.equal("thread_resolved");
    expect(data.map((a) => a.actorId)).to.deep.equal(["observer", "alice", "alice", "alice", "bob", data[5]!.actorId, data[6]!.actorId, "alice"]);
    expect(data.find((a) => a.kind === "reply_created")).to.include({ commentId: reply, threadId });

    // Eleven keystrokes are one row, its count grown in place.
    await server.app.comments.activity.flush();
    const edits = (await feed("?limit=100")).data.filter((a) => a.kind === "document_edited");
    expect(edits).to.have.length(1);
    expect(edits[0]!.count).to.equal(11);

    // A second visit is not a first join.
    alice.destroy();
    const aliceAgain = await connect("alice");
    await waitFor(() => watched.length >= expected.length, 5000, "live activity");
    expect(watched.map((a) => a.kind)).to.have.members(expected);

    // Pages of 3 walk the whole feed; new activity arriving meanwhile does not shift them.
    const first = await feed("?limit=3");
    expect(first.data.map((a) => a.id)).to.deep.equal(data.slice(0, 3).map((a) => a.id));
    addComment(aliceAgain.doc, "alice", threadId, "late");
    await waitFor(() => watched.some((a) => a.kind === "reply_created" && a.actorId === "alice"), 5000, "late reply live");
    const seen = [...first.data];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await feed(`?limit=3&cursor=${cursor}`);
      seen.push(...page.data);
      cursor = page.nextCursor;
    }
    expect(seen.map((a) => a.id)).to.deep.equal([...data.map((a) => a.id), seen[seen.length - 1]!.id]);
    expect(new Set(seen.map((a) => a.id)).size).to.equal(seen.length);
    expect(seen[seen.length - 1]).to.include({ kind: "reply_created", actorId: "alice" });
    const again = await feed(`?limit=3&cursor=${first.nextCursor}`);
    expect(again.data.map((a) => a.id)).to.deep.equal(data.slice(3, 6).map((a) => a.id));

    const bad = await team.apiKey.client.get(`/organizations/${team.orgId}/rooms/${ROOM}/activity?cursor=nonsense`);
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal("invalid_cursor");
  });
});
