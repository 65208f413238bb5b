/**
 * A mention made on one server process reaches the mentioned user's client connected to another
 * process (Redis), once, and by email only when the user's settings say so; the activity feed
 * records each change once although both processes hold the room.
 */
import { expect } from "chai";
import { spawnServer, mintToken, type ChildServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, type TestProvider } from "../../helpers/clients.ts";
import { startMailbox, type Mailbox } from "../../helpers/accounts.ts";
import { openDatabase } from "../../helpers/documents.ts";
import { addComment, createThread } from "../../helpers/comments.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-notify";
const ROOM = "notify-room";

interface Pushed {
  type: string;
  notification?: { id: string; kind: string; userId: string; actorId: string; commentId: string };
  receivedAt: number;
}

describe("notifications across server processes", () => {
  let mailbox: Mailbox;
  let a: ChildServer;
  let b: ChildServer;
  let db: Database;
  const clients: TestProvider[] = [];

  before(async function () {
    this.timeout(60_000);
    await truncateAll();
    mailbox = await startMailbox();
    const env = { REDIS_URL: "redis://127.0.0.1:6379", REDIS_PREFIX: `sf-test-notify-${process.pid}-${Date.now()}`, SMTP_URL: mailbox.smtpUrl };
    a = await spawnServer(env);
    b = await spawnServer(env);
    db = openDatabase(testDatabaseUrl());
    // bob wants mention emails (the default); carol has an address but said no to mention emails.
    await db.models.NotificationSetting.create({ orgId: ORG, userId: "bob", email: "bob@example.test", channels: {} });
    await db.models.NotificationSetting.create({ orgId: ORG, userId: "carol", email: "carol@example.test", channels: { mention: { email: false } } });
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async function () {
    this.timeout(30_000);
    await db?.close();
    await a?.stop();
    await b?.stop();
    await mailbox?.close();
  });

  async function connect(server: ChildServer, userId: string, pushed: Pushed[]): Promise<TestProvider> {
    const token = await mintToken({ userId, orgId: ORG, permissions: { [ROOM]: ["room:write"] } });
    const c = connectProvider(server.collabUrl, ROOM, token);
    c.provider.on("stateless", ({ payload }: { payload: string }) => pushed.push({ ...(JSON.parse(payload) as Pushed), receivedAt: Date.now() }));
    clients.push(c);
    await waitForSynced(c);
    return c;
  }

  it("delivers a mention live to the other process, once, and emails per preference", async () => {
    const bobPushed: Pushed[] = [];
    const carolPushed: Pushed[] = [];
    const alicePushed: Pushed[] = [];
    const alice = await connect(a, "alice", alicePushed);
    await connect(b, "bob", bobPushed);
    await connect(b, "carol", carolPushed);

    // carol first: her in-app notification arrives; no email may follow.
    const { threadId } = createThread(alice.doc, "alice", "what do you think @carol?");
    await waitFor(() => carolPushed.some((p) => p.notification?.kind === "mention"), 5000, "carol's live mention");

    const sentAt = Date.now();
    const commentId = addComment(alice.doc, "alice", threadId, "and you, @bob?");
    await waitFor(() => bobPushed.some((p) => p.notification?.kind === "mention"), 5000, "bob's live mention");
    const live = bobPushed.find((p) => p.notification?.kind === "mention")!;
    expect(live.notification).to.include({ userId: "bob", actorId: "alice", commentId });
    console.log(`      mention → live notification on the other process: ${live.receivedAt - sentAt} ms`);

    const mail = await mailbox.waitForMail("bob@example.test", /alice mentioned you/, 10_000);
    expect(mail.text).to.include("and you, @bob?");

    // Exactly once, although both processes hold the document.
    const rows = await db.models.Notification.findAll({ where: { orgId: ORG, userId: "bob" } });
    expect(rows.map((r) => r.kind)).to.deep.equal(["mention"]);
    expect(bobPushed.filter((p) => p.type === "sf:notification")).to.have.length(1);
    // carol's reply notification for bob's comment? no: carol wrote nothing. alice is never notified of her own act.
    expect(alicePushed.filter((p) => p.type === "sf:notification")).to.have.length(0);
    expect(mailbox.messages.filter((m) => m.to.includes("carol@example.test"))).to.have.length(0);
    expect(await db.models.Notification.count({ where: { orgId: ORG, userId: "carol" } })).to.equal(1);
    // The activity feed too: one row per change, not one per process holding the room.
    const activity = await db.models.RoomActivity.findAll({ where: { orgId: ORG, roomId: ROOM }, order: [["id", "ASC"]] });
    expect(activity.filter((r) => r.kind === "comment_created" || r.kind === "reply_created").map((r) => r.kind)).to.deep.equal(["comment_created", "reply_created"]);
    expect(activity.filter((r) => r.kind === "user_joined_first_time").map((r) => r.actorId).sort()).to.deep.equal(["alice", "bob", "carol"]);
  });
});
