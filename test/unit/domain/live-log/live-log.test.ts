/**
 * The live log without I/O: entry ids and their order, the in-process ring buffer, filters,
 * resuming after an id, and comment events as entries.
 */
import { expect } from "chai";
import { compareEntryIds, LiveLog, matches, type LiveLogBackend, type LiveLogEntry } from "../../../../server/domain/live-log/live-log.ts";
import { MemoryLiveLog } from "../../../../server/domain/live-log/memory-live-log.ts";
import { commentEntries } from "../../../../server/domain/live-log/comment-entries.ts";
import { commentValue, threadValue } from "../../../helpers/comments.ts";

describe("live log", () => {
  it("orders ids by time, then sequence, as numbers", () => {
    expect(compareEntryIds("1-9", "1-10")).to.be.lessThan(0);
    expect(compareEntryIds("2-0", "1-99")).to.be.greaterThan(0);
    expect(compareEntryIds("1733338355123-4", "1733338355123-4")).to.equal(0);
    expect(["10-0", "9-3", "9-12"].sort(compareEntryIds)).to.deep.equal(["9-3", "9-12", "10-0"]);
  });

  it("keeps the newest entries per organisation in a ring, with increasing ids", async () => {
    const log = new LiveLog(new MemoryLiveLog({ history: 5 }));
    for (let i = 0; i < 12; i++) log.record({ orgId: "a", roomId: "r", kind: "webhook", detail: String(i) });
    log.record({ orgId: "b", kind: "connect" });
    const kept = await log.list("a", {}, 100);
    expect(kept.map((e) => e.detail)).to.deep.equal(["11", "10", "9", "8", "7"]);
    const ids = kept.map((e) => e.id).reverse();
    expect([...new Set(ids)].sort(compareEntryIds)).to.deep.equal(ids);
    expect(await log.list("b", {}, 100)).to.have.length(1);
    expect(await log.list("c", {}, 100)).to.deep.equal([]);
    // After an id: oldest first, only newer ones; an id older than the ring gives all of it.
    expect((await log.since("a", kept[2]!.id, {})).map((e) => e.detail)).to.deep.equal(["10", "11"]);
    expect(await log.since("a", "0-0", {})).to.have.length(5);
    expect(await log.since("a", kept[0]!.id, {})).to.deep.equal([]);
  });

  it("filters by room, user and kinds, then limits", async () => {
    const log = new LiveLog(new MemoryLiveLog({ history: 100 }));
    log.record({ orgId: "a", roomId: "r1", userId: "u1", kind: "connect" });
    log.record({ orgId: "a", roomId: "r2", userId: "u1", kind: "refused", code: 4403, detail: "room_not_granted" });
    log.record({ orgId: "a", roomId: "r1", userId: "u2", kind: "comment" });
    expect((await log.list("a", { roomId: "r1" }, 10)).map((e) => e.user_id)).to.deep.equal(["u2", "u1"]);
    expect((await log.list("a", { userId: "u1", kinds: ["refused"] }, 10))[0]).to.include({ room_id: "r2", code: 4403, detail: "room_not_granted" });
    expect(await log.list("a", { kinds: ["connect", "comment"] }, 1)).to.have.length(1);
    const entry = { id: "1-0", at: "", org_id: "a", room_id: null, user_id: null, kind: "webhook" } satisfies LiveLogEntry;
    expect(matches(entry, { kinds: [] })).to.equal(true);
    expect(matches(entry, { roomId: "r1" })).to.equal(false);
  });

  it("delivers live entries to the organisation's subscribers until they unsubscribe", async () => {
    const log = new LiveLog(new MemoryLiveLog({ history: 10 }));
    const seen: string[] = [];
    const unsubscribe = await log.subscribe("a", { kinds: ["connect"] }, (e) => seen.push(e.user_id!));
    log.record({ orgId: "a", userId: "x", kind: "connect" });
    log.record({ orgId: "a", userId: "y", kind: "disconnect" });
    log.record({ orgId: "b", userId: "z", kind: "connect" });
    unsubscribe();
    log.record({ orgId: "a", userId: "w", kind: "connect" });
    expect(seen).to.deep.equal(["x"]);
  });

  it("never throws from record, and keeps details short", async () => {
    const failing: LiveLogBackend = {
      append: () => {
        throw new Error("backend down");
      },
      newest: async () => [],
      subscribe: async () => () => {},
      close: async () => {},
    };
    expect(() => new LiveLog(failing).record({ orgId: "a", kind: "connect" })).not.to.throw();
    const log = new LiveLog(new MemoryLiveLog({ history: 10 }));
    log.record({ orgId: "a", kind: "webhook", detail: "x".repeat(1000) });
    expect((await log.list("a", {}, 1))[0]!.detail).to.have.length(200);
  });

  it("turns comment events into comment entries that name the acting user and ids, not text", () => {
    const thread = threadValue("th_1", "alice");
    const comment = commentValue("cm_1", "th_1", "alice", "secret words");
    const entries = commentEntries("org", "room", [
      { type: "comment_created", comment, thread, isReply: false, mentions: [], participants: [] },
      { type: "thread_resolved", thread: { ...thread, resolved: true, resolvedBy: "bob" }, participants: [], by: "bob" },
      { type: "reaction_added", commentId: "cm_1", emoji: "🎉", userId: "carol", comment, threadId: "th_1" },
    ]);
    expect(entries).to.deep.equal([
      { orgId: "org", roomId: "room", kind: "comment", userId: "alice", detail: "comment_created th_1/cm_1" },
      { orgId: "org", roomId: "room", kind: "comment", userId: "bob", detail: "thread_resolved th_1" },
      { orgId: "org", roomId: "room", kind: "comment", userId: "carol", detail: "reaction_added th_1/cm_1" },
    ]);
    expect(JSON.stringify(entries)).not.to.include("secret");
  });
});
