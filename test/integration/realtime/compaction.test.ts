/**
 * The update log is compacted by the debounced store: once it has run, the document's log rows are
 * gone and room_documents holds its state. A store that fails (here: the snapshot table is really
 * unavailable) keeps the document in memory and is retried until it succeeds. An update that cannot
 * be logged is held back: nothing that would reveal it (the broadcast, the sender's acknowledgement)
 * is sent until the log commits again, and a socket that waits too long is closed with 1013.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openDatabase, readStored, readStoredWhen, snapshotText, storedText } from "../../helpers/documents.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-test";
const HOLD_TIMEOUT_MS = 1500;

describe("update log compaction", function () {
  this.timeout(30_000);
  let server: TestServer;
  let db: Database;
  const clients: TestProvider[] = [];

  before(async () => {
    server = await startServer({ STORE_DEBOUNCE_MS: "60000", STORE_MAX_DEBOUNCE_MS: "120000", UPDATE_COMMIT_TIMEOUT_MS: String(HOLD_TIMEOUT_MS) });
    db = openDatabase(testDatabaseUrl());
    // Once, before any store can run: every test uses its own rooms.
    await truncateAll();
  });
  after(async () => {
    // Whatever happens in a test, leave the schema as it was.
    await db?.sequelize.query("ALTER TABLE IF EXISTS room_documents_unavailable RENAME TO room_documents").catch(() => {});
    await db?.sequelize.query("ALTER TABLE IF EXISTS document_updates_unavailable RENAME TO document_updates").catch(() => {});
    await server?.close();
    await db?.close();
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });

  async function editedRoom(room: string, text: string): Promise<TestProvider> {
    const c = connectProvider(server.collabUrl, room, await mintToken({ orgId: ORG }));
    clients.push(c);
    await waitForSynced(c);
    for (const word of text.split(" ")) {
      c.text.insert(c.text.length, c.text.length ? ` ${word}` : word);
      await waitForAcked(c);
    }
    return c;
  }

  it("deletes the document's log rows and keeps its state in room_documents", async () => {
    await editedRoom("compact-me", "one two three four");
    await editedRoom("left-alone", "other room");
    const before = await readStored(db, ORG, "compact-me");
    expect(before.snapshot).to.equal(null);
    expect(before.log.length, "one row per acknowledged edit at least").to.be.at.least(4);

    server.app.hocuspocus.flushPendingStores();
    const after = await readStoredWhen(db, ORG, "compact-me", (s) => s.snapshot !== null && s.log.length === 0);
    expect(after.log, "log rows deleted").to.have.length(0);
    expect(snapshotText(after)).to.equal("one two three four");
    expect(after.version).to.equal(1);
  });

  it("keeps a document whose store fails in memory and retries the store", async () => {
    const c = await editedRoom("retry", "kept through a failed store");
    const name = toDocumentName(ORG, "retry");
    const { hocuspocus, persistence } = server.app;
    const document = hocuspocus.documents.get(name)!;
    await db.sequelize.query("ALTER TABLE room_documents RENAME TO room_documents_unavailable");
    try {
      hocuspocus.flushPendingStores();
      await waitFor(() => persistence.isRetryingStore(document), 5000, "the failed store to schedule its retry");
      // The last client leaves while the database still fails (leaving runs the retry at once; it
      // fails too): the document must stay loaded.
      clients.pop()!.destroy();
      await waitFor(() => document.getConnectionsCount() === 0, 5000, "the client to leave");
      await new Promise((r) => setTimeout(r, 300));
      expect(hocuspocus.documents.has(name), "document kept in memory").to.equal(true);
      expect(persistence.isRetryingStore(document), "retry still pending").to.equal(true);
      const logged = await db.models.DocumentUpdate.count({ where: { documentName: name } });
      expect(logged, "updates still in the log").to.be.greaterThan(0);
      expect(c.doc.isDestroyed).to.equal(true);
    } finally {
      await db.sequelize.query("ALTER TABLE room_documents_unavailable RENAME TO room_documents");
    }
    // The backoff timer retries on its own, and the stored document unloads.
    const stored = await readStoredWhen(db, ORG, "retry", (s) => s.snapshot !== null && s.log.length === 0, 15_000);
    expect(snapshotText(stored)).to.equal("kept through a failed store");
    expect(stored.log).to.have.length(0);
    expect(storedText(stored)).to.equal("kept through a failed store");
    await waitFor(() => !hocuspocus.documents.has(name), 5000, "the stored document to unload");
  });

  /** A writer with "before" in `room`, a synced reader, and the update log's table gone (rename it back in a finally). */
  async function writerAndReaderWithoutLog(room: string) {
    const a = await editedRoom(room, "before");
    const b = connectProvider(server.collabUrl, room, await mintToken({ orgId: ORG }));
    clients.push(b);
    await waitForSynced(b);
    const closes: number[] = [];
    a.socket.on("close", ({ event }: { event: { code: number } }) => closes.push(event.code));
    await db.sequelize.query("ALTER TABLE document_updates RENAME TO document_updates_unavailable");
    return { a, b, closes };
  }

  it("holds back an update that cannot be logged — no broadcast, no acknowledgement — until the log commits", async () => {
    const { a, b, closes } = await writerAndReaderWithoutLog("append-held");
    try {
      a.text.insert(a.text.length, " after");
      await waitFor(() => server.app.updateLog.failures > 0, 5000, "the log to fail to commit");
      await new Promise((r) => setTimeout(r, HOLD_TIMEOUT_MS / 3));
      expect(b.text.toString(), "an update that is not durable is not broadcast").to.equal("before");
      expect(a.provider.hasUnsyncedChanges, "nor acknowledged").to.equal(true);
    } finally {
      await db.sequelize.query("ALTER TABLE document_updates_unavailable RENAME TO document_updates");
    }
    await waitForAcked(a, 10_000);
    await waitFor(() => b.text.toString() === "before after", 5000, "the update to reach B once durable");
    expect(closes, "the socket stayed open").to.deep.equal([]);
    const stored = await readStored(db, ORG, "append-held");
    expect(storedText(stored)).to.equal("before after");
  });

  it("closes a socket whose messages wait longer than UPDATE_COMMIT_TIMEOUT_MS (1013); the provider catches up once the log commits", async () => {
    const { a, b, closes } = await writerAndReaderWithoutLog("append-fails");
    try {
      a.text.insert(a.text.length, " after");
      await waitFor(() => closes.length > 0, HOLD_TIMEOUT_MS * 4, "the socket to close");
      expect(closes[0]).to.equal(1013);
      expect(b.text.toString(), "an update that is not durable is not broadcast").to.equal("before");
    } finally {
      await db.sequelize.query("ALTER TABLE document_updates_unavailable RENAME TO document_updates");
    }
    await waitForAcked(a, 15_000);
    await waitFor(() => b.text.toString() === "before after", 10_000, "the update to reach B");
    const stored = await readStored(db, ORG, "append-fails");
    expect(storedText(stored)).to.equal("before after");
  });
});
