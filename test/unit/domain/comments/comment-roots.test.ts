/**
 * The guard reads the current comment values through Y.Map's public API. A server document that
 * received its comments as an update, before any code opened the roots as maps, holds them in plain
 * Yjs types; the guard opens them before placing the update, so removals are still seen as comment
 * removals (not content) and judged by ownership. A root the server opened as another type holds
 * nothing the rules can read: writes to it are refused.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { checkUpdate, type UpdateWriter } from "../../../../server/domain/comments/update-guard.ts";
import { COMMENTS, THREADS } from "../../../../protocol/comment-schema.ts";
import { commentValue, craftUpdate, threadValue } from "../../../helpers/comments.ts";

const commenter = (userId: string): UpdateWriter => ({ userId, canWrite: false, canWriteComments: true });

/** A server copy that got alice's thread and comment as an update: its roots are not opened yet. */
function unopenedServer(): Y.Doc {
  const client = new Y.Doc();
  client.getMap(THREADS).set("th1", threadValue("th1", "alice"));
  client.getMap(COMMENTS).set("cm1", commentValue("cm1", "th1", "alice", "hi"));
  const server = new Y.Doc();
  Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
  client.destroy();
  return server;
}

describe("comment roots read by the guard", () => {
  it("judges a removal in a root nobody opened yet by ownership, as a comment removal", () => {
    const server = unopenedServer();
    expect(server.share.get(COMMENTS)).to.not.be.instanceOf(Y.Map);
    const removal = craftUpdate(server, (d) => d.getMap(COMMENTS).delete("cm1"));
    expect(checkUpdate(server, removal, commenter("bob"))).to.include({ ok: false, reason: "comment_not_author" });
    expect(checkUpdate(server, removal, commenter("alice"))).to.include({ ok: true, touchesContent: false });
  });

  it("judges an overwrite in a root nobody opened yet against the current value", () => {
    const server = unopenedServer();
    const forged = craftUpdate(server, (d) => d.getMap(COMMENTS).set("cm1", commentValue("cm1", "th1", "bob", "mine now")));
    expect(checkUpdate(server, forged, commenter("bob"))).to.include({ ok: false, reason: "comment_not_author" });
  });

  it("refuses comment writes to a root the server opened as another type", () => {
    const server = new Y.Doc();
    server.getText(THREADS);
    const update = craftUpdate(new Y.Doc(), (d) => d.getMap(THREADS).set("th2", threadValue("th2", "bob")));
    expect(checkUpdate(server, update, commenter("bob"))).to.include({ ok: false, reason: "comment_schema_invalid" });
  });
});
