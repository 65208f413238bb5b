/**
 * Durable room documents.
 *
 * Hocuspocus' own store is debounced (2 s, at most 10 s): a crash inside that window loses edits
 * that clients have already seen. Here every document update a client sends is appended to the
 * update log as Hocuspocus is about to apply it (beforeHandleMessage, per connection, in order,
 * after the comment guard has accepted it), and appends are group-committed once per event-loop
 * turn (update-log.ts). The update is applied without waiting for its commit, so a busy connection
 * is not bound by commit latency; instead nothing that could reveal it — the broadcast, the
 * sender's acknowledgement, a joiner's sync — leaves the server's sockets before it is durable
 * (server/realtime/durable-outbound.ts). The debounced store then compacts: it writes the in-memory
 * state as the snapshot and deletes the log rows that are known to be in it. Loading applies
 * snapshot + remaining log; Yjs updates are idempotent, so a row that is also in the snapshot does
 * no harm.
 *
 * A log row is "known to be in" the in-memory document once it has committed (it was applied when
 * appended), or, for rows read at load, at once. Rows written by another process (Redis) are never
 * deleted here until this process loads them itself.
 *
 * A failed store is retried with backoff (store-retries.ts); while a retry is pending the document
 * refuses to unload (beforeUnloadDocument), so it stays in memory even after its last client left.
 * Every copy of a document, from the start of its load to its destruction, is reported to
 * DocumentCopies, which room deletion reads.
 */
import * as Y from "yjs";
import type {
  Extension,
  onLoadDocumentPayload,
  beforeHandleMessagePayload,
  onChangePayload,
  onStoreDocumentPayload,
  Document,
  Hocuspocus,
  onConfigurePayload,
  afterLoadDocumentPayload,
  beforeUnloadDocumentPayload,
  onDisconnectPayload,
} from "@hocuspocus/server";
import type { DocumentStore } from "../server/domain/documents/document-store.ts";
import type { DocumentCopies } from "../server/realtime/document-copies.ts";
import { StoreRetries } from "../server/realtime/store-retries.ts";
import type { UpdateLog } from "../server/domain/documents/update-log.ts";
import { readDocumentUpdate } from "../protocol/messages.ts";
import { PRE_LOGGED } from "../server/realtime/server-documents.ts";
import { logger } from "../server/logger.ts";

interface DocumentState {
  version: number;
  /** Log rows contained in the in-memory document, deletable by the next compaction. */
  containedIds: number[];
  /** Local (server-side) appends still in flight. */
  inflight: Set<Promise<unknown>>;
}

export interface PersistenceOptions {
  store: DocumentStore;
  log: UpdateLog;
  /** Told of every copy of a document from the start of its load until it is destroyed. */
  copies: DocumentCopies;
  /** Backoff of store retries after `failures` failed stores (default 1 s, 2 s, 4 s, … 30 s). */
  retryDelayMs?: (failures: number) => number;
}

/**
 * Thrown by beforeUnloadDocument to keep a document whose store must be retried: Hocuspocus then
 * leaves it loaded. No message, so that Hocuspocus prints nothing for this expected refusal.
 */
const DONE: Promise<void> = Promise.resolve();

class StoreRetryPending extends Error {
  readonly reason = "store_retry_pending";
}

export class Persistence implements Extension {
  extensionName = "syncforge-persistence";
  // Lowest priority: runs after authentication and after the Redis lock is taken.
  priority = 10;

  private readonly store: DocumentStore;
  private readonly log: UpdateLog;
  private readonly copies: DocumentCopies;
  private readonly retries: StoreRetries;
  /**
   * Keyed by the Document object, not its name: a document can be unloaded and loaded again under
   * the same name while the old one's unload hooks are still running, and name-keyed state let the
   * old unload drop the new document's bookkeeping (its stores then silently did nothing).
   */
  private readonly documents = new WeakMap<Document, DocumentState>();
  /** Documents of deleted rooms: never stored again (destroy-document.ts deletes their state). */
  private readonly discarded = new WeakSet<Document>();
  private instance: Hocuspocus | null = null;

  constructor(options: PersistenceOptions) {
    this.store = options.store;
    this.log = options.log;
    this.copies = options.copies;
    this.retries = new StoreRetries({ store: (document, payload) => this.retryStore(document, payload), delayMs: options.retryDelayMs });
  }

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  async onLoadDocument({ documentName, document }: onLoadDocumentPayload): Promise<void> {
    // Before the read: a room deleted from now on sees this copy and waits for it.
    this.copies.loading(document);
    try {
      const replayed = await this.store.replay(documentName, document);
      this.documents.set(document, { version: replayed.version, containedIds: replayed.rowIds, inflight: new Set() });
    } catch (error) {
      this.copies.forget(document);
      throw error;
    }
  }

  /**
   * A document loaded with a log tail (its last process crashed, or another process still holds
   * rows) is compacted on the usual debounce even if nobody edits it: otherwise a document that is
   * only read after a crash would keep its tail forever, and graceful shutdown, which only runs
   * pending stores, would leave it uncompacted.
   */
  async afterLoadDocument({ documentName, document, instance, context }: afterLoadDocumentPayload): Promise<void> {
    // Lowest priority: every other extension has accepted the load.
    this.copies.loaded(document);
    if ((this.documents.get(document)?.containedIds.length ?? 0) === 0) return;
    instance.storeDocumentHooks(document, {
      instance,
      clientsCount: document.getConnectionsCount(),
      document,
      documentName,
      lastContext: context,
      lastTransactionOrigin: { source: "persistence-load" },
    });
  }

  /**
   * Not async and not awaited for the commit: the append is queued (its number taken now, before
   * Hocuspocus applies and broadcasts) and the realtime edge holds everything sent after this point
   * until it has committed. Never fails: the log retries a failed commit until it succeeds.
   */
  beforeHandleMessage({ connection, update, documentName, document }: beforeHandleMessagePayload): Promise<void> {
    if (connection.readOnly) return DONE;
    const data = readDocumentUpdate(update);
    if (data === null || data.length <= 2) return DONE; // not a document update, or an empty one
    const state = this.documents.get(document);
    void this.log.append(documentName, data).then((id) => state?.containedIds.push(id));
    return DONE;
  }

  /**
   * Changes made on the server (direct connections: comments) are logged here, except those whose
   * direct connection logged them itself before applying them (PRE_LOGGED: REST document writes).
   */
  async onChange({ documentName, document, update, transactionOrigin, context }: onChangePayload): Promise<void> {
    const source = (transactionOrigin as { source?: string } | null)?.source;
    if (source === "connection" || source === "redis") return;
    if ((context as Partial<Record<typeof PRE_LOGGED, boolean>> | undefined)?.[PRE_LOGGED]) return;
    if (!this.documents.has(document)) return;
    void this.appendServerUpdate(documentName, document, update);
  }

  /**
   * Log a server-side update of a loaded document; resolves once it is durable. Called before the
   * update is applied, its append number is taken now: as for a client's update (beforeHandleMessage),
   * nothing the apply sends leaves a socket before the commit (durable-outbound.ts), and the Redis
   * extension announces it to other processes only after it. Rejects only for a document not loaded
   * here; never for the commit, which the log retries until it succeeds.
   */
  appendServerUpdate(documentName: string, document: Document, update: Uint8Array): Promise<void> {
    const state = this.documents.get(document);
    if (!state) return Promise.reject(new Error("the document is not loaded here"));
    const append = this.log.append(documentName, update).then((id) => {
      state.containedIds.push(id);
    });
    state.inflight.add(append);
    append
      .catch((error) => logger.error("Could not log a server-side document change", { documentName, error }))
      .finally(() => state.inflight.delete(append));
    return append;
  }

  /** Resolves when every server-side change made so far to the document is durable. */
  async flushDocument(documentName: string): Promise<void> {
    const document = this.instance?.documents.get(documentName);
    const state = document && this.documents.get(document);
    if (!state) return;
    await Promise.allSettled([...state.inflight]);
  }

  /**
   * The room of this document was deleted: its unload must not write the erased content back.
   * Keyed by the Document object, so a new document loaded later under the name stores normally.
   */
  discard(document: Document): void {
    this.discarded.add(document);
    // A copy kept loaded only by a store retry: the retry now stores nothing and lets it unload.
    this.retries.runNow(document);
  }

  /** Whether a store of the document failed and is waiting for its retry (the document stays loaded). */
  isRetryingStore(document: Document): boolean {
    return this.retries.has(document);
  }

  /** Run every pending store retry now (graceful shutdown, with Hocuspocus' flushPendingStores). */
  retryStoresNow(): void {
    this.retries.runAll();
  }

  async onStoreDocument(payload: onStoreDocumentPayload): Promise<void> {
    const { documentName, document } = payload;
    const state = this.documents.get(document);
    if (!state || this.discarded.has(document)) {
      this.retries.settled(document);
      return;
    }
    await Promise.allSettled([...state.inflight]);
    const ids = state.containedIds.splice(0);
    const snapshot = Y.encodeStateAsUpdate(document);
    try {
      state.version = await this.store.compact(documentName, snapshot, state.version, ids);
      this.retries.settled(document);
    } catch (error) {
      state.containedIds.unshift(...ids);
      const attempt = this.retries.failed(payload);
      logger.error("Could not store a document; it stays in memory and will be retried", {
        documentName,
        attempt,
        error: (error as Error).message,
      });
      // Hocuspocus prints what it catches; a database error object would print its whole query.
      throw new Error(`store failed: ${(error as Error).message}`);
    }
  }

  /** A document whose store must be retried stays loaded (Hocuspocus unloads nothing a hook refuses). */
  async beforeUnloadDocument({ document }: beforeUnloadDocumentPayload): Promise<void> {
    if (this.retries.has(document)) throw new StoreRetryPending();
  }

  /** The last client left a document whose store must be retried: retry now, then it can unload. */
  async onDisconnect({ document }: onDisconnectPayload): Promise<void> {
    if (document.getConnectionsCount() === 0) this.retries.runNow(document);
  }

  async onDestroy(): Promise<void> {
    this.retries.close();
  }

  /**
   * One retry: an ordinary immediate store through Hocuspocus, which orders it with any other store
   * of the document, runs every extension's store hooks (the Redis lock) and unloads the document
   * after success when nobody is connected. A copy that is no longer the loaded one is not stored.
   */
  private async retryStore(document: Document, payload: onStoreDocumentPayload): Promise<void> {
    const instance = this.instance;
    if (!instance || instance.documents.get(document.name) !== document) {
      this.retries.settled(document);
      return;
    }
    await instance.storeDocumentHooks(document, payload, true);
  }
}
