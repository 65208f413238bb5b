import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { waitFor } from "../../helpers/clients.ts";
import { startAuthBackend, FAST_RECONNECT, type AuthBackend } from "../../helpers/sdk.ts";
import { createClient, SyncForgeError, type Client, type Room, type SyncForgeError as ErrorType } from "../../../client/core/index.ts";

type Types = {
  Presence: Record<string, never>;
  UserInfo: { name?: string };
  ThreadMetadata: { x: number; y: number; priority?: string };
};

describe("client SDK comments, notifications and activity against the real server", () => {
  let server: TestServer;
  let backend: AuthBackend;
  let readers: AuthBackend;
  const clients: Client<Types>[] = [];

  before(async () => {
    server = await startServer();
    backend = await startAuthBackend();
    readers = await startAuthBackend({ permissions: { "*": ["room:read", "comments:read"] } });
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  after(async () => {
    await readers.close();
    await backend.close();
    await server.close();
  });

  async function enter(userId: string, roomId: string, auth = backend): Promise<{ client: Client<Types>; room: Room<Types> }> {
    const client = createClient<Types>({ url: server.httpUrl, authEndpoint: auth.url(userId), reconnect: FAST_RECONNECT });
    clients.push(client);
    const room = client.enterRoom(roomId);
    await room.waitUntilSynced();
    return { client, room };
  }

  it("threads, replies, edits, reactions and resolution reach the other client, optimistic then acknowledged", async () => {
    const roomId = `comments-${randomUUID()}`;
    const { room: a } = await enter("alice", roomId);
    const { room: b } = await enter("bob", roomId);

    const created = a.comments.createThread({ body: "Is this aligned?", metadata: { x: 10, y: 20 } });
    // Optimistic: visible at once, pending until the server acknowledges.
    expect(a.comments.getThreads()).to.have.length(1);
    expect(a.comments.getThreads()[0]!.pending).to.equal(true);
    const thread = await created;
    expect(thread.metadata).to.deep.equal({ x: 10, y: 20 });
    await waitFor(() => a.comments.getThreads()[0]?.pending === false, 5000, "acknowledged");

    await waitFor(() => b.comments.getThreads().length === 1, 5000, "bob sees the thread");
    const reply = await b.comments.createComment(thread.id, "Yes, @alice");
    await b.comments.addReaction(thread.comments[0]!.id, "👍");
    await waitFor(() => a.comments.getThread(thread.id)?.comments.length === 2, 5000, "alice sees the reply");
    await waitFor(() => a.comments.getThread(thread.id)?.comments[0]?.reactions[0]?.emoji === "👍", 5000, "alice sees the reaction");
    expect(a.comments.getThread(thread.id)!.comments[0]!.reactions[0]!.userIds).to.deep.equal(["bob"]);

    await b.comments.editComment(reply.id, "Yes, @alice (checked)");
    await a.comments.setResolved(thread.id, true);
    await a.comments.updateThreadMetadata(thread.id, { priority: "high" });
    await waitFor(() => b.comments.getThread(thread.id)?.resolved === true, 5000, "resolved");
    await waitFor(() => b.comments.getThread(thread.id)?.metadata.priority === "high", 5000, "metadata");
    expect(b.comments.getThread(thread.id)!.resolvedBy).to.equal("alice");
    await waitFor(() => a.comments.getThread(thread.id)?.comments[1]?.editedAt !== null, 5000, "edit");
    expect(a.comments.getThread(thread.id)!.comments[1]!.body).to.equal("Yes, @alice (checked)");

    await b.comments.deleteComment(reply.id);
    await b.comments.removeReaction(thread.comments[0]!.id, "👍");
    await waitFor(() => a.comments.getThread(thread.id)?.comments[1]?.deletedAt !== null, 5000, "soft delete");
    await waitFor(() => a.comments.getThread(thread.id)?.comments[0]?.reactions.length === 0, 5000, "reaction removed");
  });

  it("checks the server's rules before writing: someone else's comment, a reader's token", async () => {
    const roomId = `rules-${randomUUID()}`;
    const { room: a } = await enter("alice", roomId);
    const { room: b } = await enter("bob", roomId);
    const { room: r } = await enter("rita", roomId, readers);
    const thread = await a.comments.createThread({ body: "mine", metadata: { x: 0, y: 0 } });
    await waitFor(() => b.comments.getThreads().length === 1 && r.comments.getThreads().length === 1, 5000, "synced");
    let error = await b.comments.editComment(thread.comments[0]!.id, "hijacked").then(() => null, (e: ErrorType) => e);
    expect(error).to.be.instanceOf(SyncForgeError);
    expect(error!.code).to.equal("comment_not_author");
    error = await r.comments.createComment(thread.id, "hi").then(() => null, (e: ErrorType) => e);
    expect(error!.code).to.equal("comments_write_forbidden");
    expect(b.getStatus()).to.equal("connected");
  });

  it("a write the server refuses rejects with its reason and stops the room", async () => {
    const roomId = `refused-${randomUUID()}`;
    const { client, room } = await enter("mallory", roomId);
    const errors: ErrorType[] = [];
    client.events.error.subscribe((e) => errors.push(e));
    // Bypass the SDK's checks: write a comment in someone else's name straight into the map.
    room.doc.getMap("sf:threads").set("th_forged", {
      id: "th_forged", createdBy: "alice", createdAt: Date.now(), anchor: null,
      resolved: false, resolvedBy: null, resolvedAt: null, metadata: {},
    });
    await waitFor(() => errors.length > 0, 5000, "the refusal");
    expect(errors[0]!.code).to.equal("thread_forged_author");
    await waitFor(() => room.getStatus() === "refused", 5000, "room stopped");
    const verdict = await room.comments.createThread({ body: "after" }).then(() => null, (e: ErrorType) => e);
    expect(verdict!.code).to.equal("thread_forged_author");
    expect(room.needsResync()).to.equal(true);

    // Entering again gives a fresh room from the server's copy: the refused write is gone.
    const fresh = client.enterRoom(roomId);
    expect(fresh).to.not.equal(room);
    await fresh.waitUntilSynced();
    expect(fresh.getStatus()).to.equal("connected");
    expect(fresh.doc.getMap("sf:threads").has("th_forged")).to.equal(false);
    await fresh.comments.createThread({ body: "a legitimate one" });
    room.leave();
    expect(client.getRoom(roomId)).to.equal(fresh);
  });

  it("a mention reaches the mentioned user's inbox live; activity arrives in the room; mark read", async () => {
    const roomId = `inbox-${randomUUID()}`;
    const { room: a } = await enter("alice", roomId);
    const { client: bobClient, room: b } = await enter("bob", roomId);
    await a.comments.createThread({ body: "Please look, @bob", metadata: { x: 1, y: 1 } });
    await waitFor(() => bobClient.inbox.get().unreadCount === 1, 5000, "bob's notification");
    const [notification] = bobClient.inbox.get().notifications;
    expect(notification).to.include({ kind: "mention", userId: "bob", actorId: "alice", roomId });
    await waitFor(() => b.activity.get().some((item) => item.kind === "comment_created"), 5000, "activity");
    await bobClient.inbox.markRead(notification!.id);
    expect(bobClient.inbox.get().unreadCount).to.equal(0);
  });
});
