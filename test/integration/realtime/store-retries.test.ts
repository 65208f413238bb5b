/**
 * Retries of failed stores with the backoff timer far away (60 s), so that whatever stores the
 * document during a test ran the retry sooner: the last client leaving, a new edit (Hocuspocus'
 * debounced store, after which nothing is left to retry and the document unloads), or graceful
 * shutdown. The snapshot table is really renamed away while the store must fail.
 */
import { expect } from "chai";
import { startServer, mintToken, type TestServer } from "../../helpers/server.ts";
import { truncateAll, testDatabaseUrl } from "../../helpers/database.ts";
import { connectProvider, waitFor, waitForSynced, waitForAcked, type TestProvider } from "../../helpers/clients.ts";
import { openDatabase, readStored, readStoredWhen, snapshotText } from "../../helpers/documents.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import type { Database } from "../../../db/index.ts";

const ORG = "org-test";

describe("store retries run sooner than their backoff", function () {
  this.timeout(30_000);
  let server: TestServer;
  let db: Database;
  const clients: TestProvider[] = [];

  before(async () => {
    db = openDatabase(testDatabaseUrl());
  });
  beforeEach(async () => {
    server = await startServer(
      { STORE_DEBOUNCE_MS: "100", STORE_MAX_DEBOUNCE_MS: "500", SHUTDOWN_TIMEOUT_MS: "2000" },
      { storeRetryDelayMs: () => 60_000 },
    );
    await truncateAll();
  });
  afterEach(async () => {
    while (clients.length) clients.pop()!.destroy();
    await db.sequelize.query("ALTER TABLE IF EXISTS room_documents_unavailable RENAME TO room_documents").catch(() => {});
    await server.close();
  });
  after(() => db?.close());

  /** A room with `text` in it whose store has failed once; the snapshot table is back afterwards. */
  async function failedStore(room: string, text: string, whileFailing: () => Promise<void> = async () => {}): Promise<TestProvider> {
    const c = connectProvider(server.collabUrl, room, await mintToken({ orgId: ORG }));
    clients.push(c);
    await waitForSynced(c);
    const { hocuspocus, persistence } = server.app;
    await db.sequelize.query("ALTER TABLE room_documents RENAME TO room_documents_unavailable");
    try {
      c.text.insert(0, text);
      await waitForAcked(c);
      const document = hocuspocus.documents.get(toDocumentName(ORG, room))!;
      await waitFor(() => persistence.isRetryingStore(document), 5000, "the debounced store to fail");
      await whileFailing();
    } finally {
      await db.sequelize.query("ALTER TABLE room_documents_unavailable RENAME TO room_documents");
    }
    return c;
  }

  it("runs the pending retry when the last client leaves, then unloads the document", async () => {
    const c = await failedStore("leaving", "stored when the last client left");
    const name = toDocumentName(ORG, "leaving");
    c.destroy();
    const stored = await readStoredWhen(db, ORG, "leaving", (s) => s.snapshot !== null && s.log.length === 0);
    expect(snapshotText(stored)).to.equal("stored when the last client left");
    expect(stored.log).to.have.length(0);
    await waitFor(() => !server.app.hocuspocus.documents.has(name), 5000, "the stored document to unload");
  });

  it("lets a new edit's store succeed in its place, after which nothing keeps the document", async () => {
    const c = await failedStore("edited", "first");
    const document = server.app.hocuspocus.documents.get(toDocumentName(ORG, "edited"))!;
    c.text.insert(c.text.length, " second");
    await waitForAcked(c);
    const stored = await readStoredWhen(db, ORG, "edited", (s) => s.snapshot !== null && s.log.length === 0);
    expect(snapshotText(stored)).to.equal("first second");
    expect(server.app.persistence.isRetryingStore(document)).to.equal(false);
    c.destroy();
    await waitFor(() => !server.app.hocuspocus.documents.has(document.name), 5000, "the document to unload");
  });

  it("runs the retry of a document nobody is connected to at graceful shutdown", async () => {
    const name = toDocumentName(ORG, "shutdown");
    await failedStore("shutdown", "stored at shutdown", async () => {
      // The last client leaves while the store still fails: only the retry keeps the document.
      clients.pop()!.destroy();
      await waitFor(() => server.app.hocuspocus.documents.get(name)?.getConnectionsCount() === 0, 5000, "the client to leave");
      await new Promise((r) => setTimeout(r, 200));
      expect(server.app.hocuspocus.documents.has(name), "kept for its retry").to.equal(true);
    });
    await server.close();
    const stored = await readStored(db, ORG, "shutdown");
    expect(snapshotText(stored)).to.equal("stored at shutdown");
    expect(stored.log).to.have.length(0);
  });
});
