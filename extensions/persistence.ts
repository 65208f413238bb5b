/**
 * Durable room documents.
 *
 * Hocuspocus' own store is debounced (2 s, at most 10 s): a crash inside that window loses edits
 * that clients have already seen. Here every document update a client sends is appended to the
 * update log *before* Hocuspocus applies and broadcasts it (beforeHandleMessage is awaited per
 * connection, in order), and appends are group-committed once per event-loop turn. The debounced
 * store then compacts: it writes the in-memory state as the snapshot and deletes the log rows that
 * are known to be in it. Loading applies snapshot + remaining log; Yjs updates are idempotent, so a
 * row that is also in the snapshot does no harm.
 *
 * A log row is "known to be in" the in-memory document once Hocuspocus has finished handling the
 * message that carried it (afterHandleMessage), or, for rows read at load, at once. Rows written
 * by another process (Redis) are never deleted here until this process loads them itself.
 */
import * as Y from "yjs";
import type {
  Extension,
  onLoadDocumentPayload,
  beforeHandleMessagePayload,
  afterHandleMessagePayload,
  onChangePayload,
  onStoreDocumentPayload,
  Connection,
  Document,
  Hocuspocus,
  onConfigurePayload,
  afterLoadDocumentPayload,
} from "@hocuspocus/server";
import type { DocumentStore } from "../server/domain/documents/document-store.ts";
import type { UpdateLog } from "../server/domain/documents/update-log.ts";
import { readDocumentUpdate } from "../protocol/messages.ts";
import { logger } from "../server/logger.ts";
import type { SocketContext } from "../server/realtime/socket-edge.ts";
import { CloseCodes } from "../protocol/close-codes.ts";

/** Close code when an update could not be logged: 1013 "try again later", the client reconnects. */
export const UPDATE_NOT_SAVED = CloseCodes.UpdateNotSaved;

interface DocumentState {
  version: number;
  /** Log rows contained in the in-memory document, deletable by the next compaction. */
  containedIds: number[];
  /** Local (server-side) appends still in flight. */
  inflight: Set<Promise<unknown>>;
  storeFailures: number;
}

export interface PersistenceOptions {
  store: DocumentStore;
  log: UpdateLog;
}

export class Persistence implements Extension {
  extensionName = "syncforge-persistence";
  // Lowest priority: runs after authentication and after the Redis lock is taken.
  priority = 10;

  private readonly store: DocumentStore;
  private readonly log: UpdateLog;
  /**
   * Keyed by the Document object, not its name: a document can be unloaded and loaded again under
   * the same name while the old one's unload hooks are still running, and name-keyed state let the
   * old unload drop the new document's bookkeeping (its stores then silently did nothing).
   */
  private readonly documents = new WeakMap<Document, DocumentState>();
  private readonly pendingByConnection = new WeakMap<Connection, { document: Document; id: number }>();
  /** Documents of deleted rooms: never stored again (destroy-document.ts deletes their state). */
  private readonly discarded = new WeakSet<Document>();
  private instance: Hocuspocus | null = null;
  private destroyed = false;

  constructor(options: PersistenceOptions) {
    this.store = options.store;
    this.log = options.log;
  }

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  async onLoadDocument({ documentName, document }: onLoadDocumentPayload): Promise<void> {
    const loaded = await this.store.load(documentName);
    if (loaded.state) Y.applyUpdate(document, loaded.state);
    let skipped = 0;
    for (const update of loaded.updates) {
      try {
        Y.applyUpdate(document, update.data);
      } catch {
        // A row Yjs cannot read was rejected when it arrived too; it is dropped by the next compaction.
        skipped += 1;
      }
    }
    if (skipped > 0) logger.warn("Skipped unreadable logged updates while loading a document", { documentName, skipped });
    this.documents.set(document, {
      version: loaded.version,
      containedIds: loaded.updates.map((u) => u.id),
      inflight: new Set(),
      storeFailures: 0,
    });
  }

  /**
   * A document loaded with a log tail (its last process crashed, or another process still holds
   * rows) is compacted on the usual debounce even if nobody edits it: otherwise a document that is
   * only read after a crash would keep its tail forever, and graceful shutdown, which only runs
   * pending stores, would leave it uncompacted.
   */
  async afterLoadDocument({ documentName, document, instance, context }: afterLoadDocumentPayload): Promise<void> {
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

  async beforeHandleMessage({ connection, update, documentName, document, context }: beforeHandleMessagePayload): Promise<void> {
    if (connection.readOnly) return;
    const data = readDocumentUpdate(update);
    if (data === null || data.length <= 2) return; // not a document update, or an empty one
    let id: number;
    try {
      id = await this.log.append(documentName, data);
    } catch (error) {
      // The update is not durable, so it is neither applied nor broadcast (the rejection stops
      // Hocuspocus). Hocuspocus alone would close only this document and leave the socket open;
      // the provider then marks itself unsynced but never re-authenticates, so the edit would sit
      // on the client forever. Closing the socket makes the provider reconnect and resend
      // everything the server lacks in its sync handshake.
      logger.error("Could not log a document update; closing the connection so the client resends it", {
        documentName,
        error: (error as Error).message,
      });
      (context as Partial<SocketContext> | undefined)?.socket?.close(UPDATE_NOT_SAVED.code, UPDATE_NOT_SAVED.reason);
      throw Object.assign(new Error("update_not_saved"), UPDATE_NOT_SAVED);
    }
    this.pendingByConnection.set(connection, { document, id });
  }

  async afterHandleMessage({ connection }: afterHandleMessagePayload): Promise<void> {
    const pending = this.pendingByConnection.get(connection);
    if (!pending) return;
    this.pendingByConnection.delete(connection);
    this.documents.get(pending.document)?.containedIds.push(pending.id);
  }

  /** Changes made on the server (direct connections: REST, comments) are logged here. */
  async onChange({ documentName, document, update, transactionOrigin }: onChangePayload): Promise<void> {
    const source = (transactionOrigin as { source?: string } | null)?.source;
    if (source === "connection" || source === "redis") return;
    const state = this.documents.get(document);
    if (!state) return;
    const append = this.log.append(documentName, update).then((id) => {
      state.containedIds.push(id);
    });
    state.inflight.add(append);
    append
      .catch((error) => logger.error("Could not log a server-side document change", { documentName, error }))
      .finally(() => state.inflight.delete(append));
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
  }

  async onStoreDocument(payload: onStoreDocumentPayload): Promise<void> {
    const { documentName, document } = payload;
    const state = this.documents.get(document);
    if (!state || this.discarded.has(document)) return;
    await Promise.allSettled([...state.inflight]);
    const ids = state.containedIds.splice(0);
    const snapshot = Y.encodeStateAsUpdate(document);
    try {
      state.version = await this.store.compact(documentName, snapshot, state.version, ids);
      state.storeFailures = 0;
    } catch (error) {
      state.containedIds.unshift(...ids);
      state.storeFailures += 1;
      this.scheduleRetry(payload, state.storeFailures);
      logger.error("Could not store a document; it stays in memory and will be retried", {
        documentName,
        attempt: state.storeFailures,
        error: (error as Error).message,
      });
      // Hocuspocus prints what it catches; a database error object would print its whole query.
      throw new Error(`store failed: ${(error as Error).message}`);
    }
  }

  async onDestroy(): Promise<void> {
    this.destroyed = true;
  }

  /**
   * A failed store is retried with backoff. The retry is registered in Hocuspocus' own store
   * debouncer, under the id its debounced store uses, because that is what Hocuspocus looks at
   * before unloading: with a plain timer, a document whose last client left after a failed store was
   * unloaded at once (its updates safe in the log, but never compacted by this process and the
   * retry found a destroyed document). Registered this way the document stays in memory until a
   * store succeeds; a new edit replaces the retry with an ordinary debounced store, the last client
   * leaving runs it at once, and graceful shutdown's flushPendingStores runs it too.
   */
  private scheduleRetry(payload: onStoreDocumentPayload, attempt: number): void {
    const instance = this.instance;
    if (!instance || this.destroyed) return;
    const { document } = payload;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
    const retry = async (): Promise<void> => {
      if (this.destroyed || document.isDestroyed) return;
      try {
        await document.saveMutex.runExclusive(async () => {
          await instance.hooks("onStoreDocument", payload);
          await instance.hooks("afterStoreDocument", payload);
        });
      } catch {
        // Logged by onStoreDocument, which has scheduled the next attempt (or another process
        // holds the Redis lock and stores it).
      }
      setTimeout(() => {
        if (instance.shouldUnloadDocument(document)) void instance.unloadDocument(document);
      }, 0);
    };
    void instance.debouncer.debounce(`onStoreDocument-${document.name}`, retry, delay, delay);
  }
}
