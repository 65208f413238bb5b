/**
 * The comments area on the default embedded database (SQLite): its migration, server-side comment
 * writes, notifications with cursor pages and read state, and the activity feed's idempotent rows.
 */
import { expect } from "chai";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { tempSqliteUrl } from "../../helpers/database.ts";

describe("comments, notifications and activity on SQLite", () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ DATABASE_URL: tempSqliteUrl() });
  });
  after(() => server.close());

  it("works end to end on SQLite", async () => {
    const { comments, notifications, activity } = server.app.comments;
    const thread = await comments.createThread("org-lite", "room-lite", { userId: "alice", body: "hello @bob" });
    await comments.addComment("org-lite", "room-lite", thread.id, { userId: "bob", body: "hi" });
    const listed = await comments.listThreads("org-lite", "room-lite", { resolved: false });
    expect(listed.map((t) => t.comments.length)).to.deep.equal([2]);

    // The REST write raised the mention and the reply through the same comment events.
    let inbox = await notifications.list("org-lite", "bob");
    for (let i = 0; i < 100 && inbox.data.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      inbox = await notifications.list("org-lite", "bob");
    }
    expect(inbox.data.map((n) => n.kind)).to.deep.equal(["mention"]);
    for (let i = 0; i < 3; i++) await notifications.notify({ orgId: "org-lite", userId: "bob", kind: "$ping", data: { i } });
    const first = await notifications.list("org-lite", "bob", { limit: 2 });
    const second = await notifications.list("org-lite", "bob", { limit: 2, cursor: first.nextCursor! });
    expect([...first.data, ...second.data]).to.have.length(4);
    expect(second.nextCursor).to.equal(null);
    expect(await notifications.markAllRead("org-lite", "bob")).to.equal(4);
    expect(await notifications.unreadCount("org-lite", "bob")).to.equal(0);

    expect(await activity.recordJoin("org-lite", "room-lite", "carol")).to.not.equal(null);
    expect(await activity.recordJoin("org-lite", "room-lite", "carol")).to.equal(null);
    for (let i = 0; i < 5; i++) activity.recordEdit("org-lite", "room-lite", "carol");
    await activity.flush();
    const feed = await activity.list("org-lite", "room-lite", { limit: 100 });
    expect(feed.data.find((a) => a.kind === "document_edited")?.count).to.equal(5);
    expect(feed.data.filter((a) => a.kind === "user_joined_first_time")).to.have.length(1);
  });
});
