/**
 * The update log is compacted by the debounced store: once it has run, the document's log rows are
 * gone and room_documents holds its state. A store that fails (here: the snapshot table is really
 * unavailable) keeps the document in memory and is retried until it succeeds; an update that cannot
 * be logged closes its socket (1013) so the provider reconnects and resends it.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openDatabase, readStored, readStoredWhen, snapshotText, storedText } from "../../helpers/documents.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-test";

describe("update log compaction", function () {
  this.timeout(30_000);
  let server: TestServer;
  let db: Database;
  const clients: TestProvider[] = [];

  before(async () => {
    server = await startServer({ STORE_DEBOUNCE_MS: "60000", STORE_MAX_DEBOUNCE_MS: "120000" });
    db = openDatabase(testDatabaseUrl());
    // Once, before any store can run: every test uses its own rooms.
    await truncateAll();
  });
  after(async () => {
    // Whatever happens in a test, leave the schema as it was.
    await db?.sequelize.query("ALTER TABLE IF EXISTS room_documents_unavailable RENAME TO room_documents").catch(() => {});
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

  it("closes the socket when an update cannot be logged, and the provider resends it", async () => {
    const token = await mintToken({ orgId: ORG });
    const a = await editedRoom("append-fails", "before");
    const b = connectProvider(server.collabUrl, "append-fails", token);
    clients.push(b);
    await waitForSynced(b);
    const closes: number[] = [];
    a.socket.on("close", ({ event }: { event: { code: number } }) => closes.push(event.code));
    await db.sequelize.query("ALTER TABLE document_updates RENAME TO document_updates_unavailable");
    try {
      a.text.insert(a.text.length, " after");
      await waitFor(() => closes.length > 0, 5000, "the socket to close");
      expect(closes[0]).to.equal(1013);
      expect(b.text.toString(), "an update that is not durable is not broadcast").to.equal("before");
    } finally {
      await db.sequelize.query("ALTER TABLE document_updates_unavailable RENAME TO document_updates");
    }
    await waitForAcked(a, 10_000);
    await waitFor(() => b.text.toString() === "before after", 5000, "the resent update to reach B");
    const stored = await readStored(db, ORG, "append-fails");
    expect(storedText(stored)).to.equal("before after");
  });
});
