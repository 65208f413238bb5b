/**
 * A room's document read and written by the server for the REST API (`/ydoc`, docs/api.md).
 *
 * Reads never load a room: the live copy when this process holds it, else what is durable (snapshot
 * and update log, every update anyone was ever told of, on any process). A live copy may hold
 * updates whose commit is still in flight, so a read answers only once the log is durable for
 * everything appended when it read — nothing leaves the server before it is durable.
 *
 * Writes take the path of a client's update through Hocuspocus' public `openDirectConnection`
 * (which loads the room if needed, with the persistence and Redis extensions' hooks): the comment
 * guard judges the update as it judges a socket's (extensions/comments.ts, `guardServerUpdate`),
 * then, in the same turn, the update is appended to the update log (persistence.ts,
 * `appendServerUpdate`) and applied. Hocuspocus broadcasts it to this process's connections, held
 * until the commit (durable-outbound.ts), and the Redis extension to the other processes, after it
 * (extensions/redis.ts). The write resolves once the update is durable. Hocuspocus' `onChange` hook
 * sees the write (transaction origin `{ source: "local", context: { via: "rest", … } }`), and
 * `written` is told after the commit: that is the hook for features reacting to REST writes
 * (webhooks). The direct connection is closed without unloading at once: the debounced store
 * compacts and unloads the room when no client holds it.
 */
import * as Y from "yjs";
import type { Document, Hocuspocus } from "@hocuspocus/server";
import { toDocumentName } from "../../protocol/document-name.ts";
import type { DocumentStore } from "../domain/documents/document-store.ts";
import type { UpdateLog } from "../domain/documents/update-log.ts";
import type { GuardVerdict } from "../domain/comments/update-guard.ts";
import { UNPLACEABLE } from "../domain/comments/update-guard.ts";
import type { RuleWriter } from "../domain/comments/comment-rules.ts";
import { makeEventSource, type Observable } from "../domain/event-source.ts";
import { AppError, BadRequestError, ConflictError, ForbiddenError } from "../errors.ts";
import { logger } from "../logger.ts";

/**
 * Set to true in the context of a direct connection whose changes are logged (appendServerUpdate)
 * before they are applied: extensions/persistence.ts's onChange does not log them again.
 */
export const PRE_LOGGED = "updatePreLogged";

/** A REST write that is durable and applied: what `written` tells. */
export interface DocumentWritten {
  orgId: string;
  roomId: string;
  /** The Yjs update that was applied. */
  update: Uint8Array;
  via: "rest";
  /** The writer the comment guard judged: a member's user id, or "" for an API key. */
  userId: string;
}

export interface ServerDocumentsOptions {
  hocuspocus: () => Hocuspocus;
  store: Pick<DocumentStore, "replay">;
  log: Pick<UpdateLog, "whenDurable" | "appended">;
  /** extensions/persistence.ts: log a server-side update of a loaded document; resolves once durable. */
  persistence: { appendServerUpdate(documentName: string, document: Document, update: Uint8Array): Promise<void> };
  /** The comment guard (extensions/comments.ts guardServerUpdate): judges, then applies in the same turn. */
  guard: (documentName: string, document: Y.Doc, update: Uint8Array, writer: RuleWriter, apply: () => void) => Promise<GuardVerdict>;
}

export class ServerDocuments {
  private readonly options: ServerDocumentsOptions;
  private readonly writtenEvents = makeEventSource<DocumentWritten>((error) =>
    logger.error("A listener of REST document writes failed", { error: (error as Error).message }),
  );
  /** Every REST write, once durable and applied (the hook for webhooks and the like). */
  readonly written: Observable<DocumentWritten> = this.writtenEvents;

  constructor(options: ServerDocumentsOptions) {
    this.options = options;
  }

  /** `fn` of the room's document as durable now; the document must not be kept or changed. */
  async read<T>(orgId: string, roomId: string, fn: (doc: Y.Doc) => T): Promise<T> {
    const name = toDocumentName(orgId, roomId);
    const live = this.options.hocuspocus().documents.get(name);
    if (live) {
      const appended = this.options.log.appended;
      const result = fn(live);
      await this.options.log.whenDurable(appended);
      return result;
    }
    const doc = new Y.Doc();
    try {
      await this.options.store.replay(name, doc);
      return fn(doc);
    } finally {
      doc.destroy();
    }
  }

  /** Apply a client-made Yjs update. Throws 400 invalid_update, 403 (comment rules), 409 update_dependencies_missing. */
  async write(orgId: string, roomId: string, update: Uint8Array, writer: RuleWriter): Promise<void> {
    try {
      Y.decodeUpdate(update);
    } catch {
      throw new BadRequestError("The body is not a Yjs update", "invalid_update");
    }
    await this.change(orgId, roomId, () => update, writer);
  }

  /**
   * Apply the update `build` makes from the live document (null: nothing to change). `build` must
   * not change the document it is given.
   */
  async change(orgId: string, roomId: string, build: (doc: Y.Doc) => Uint8Array | null, writer: RuleWriter): Promise<void> {
    const name = toDocumentName(orgId, roomId);
    const context = { orgId, roomId, userId: writer.userId || null, server: true, via: "rest", [PRE_LOGGED]: true };
    const connection = await this.options.hocuspocus().openDirectConnection(name, context);
    try {
      const document = connection.document!;
      const update = build(document);
      if (update === null) return;
      let logged: Promise<void> | null = null;
      const verdict = await this.options.guard(name, document, update, writer, () => {
        logged = this.options.persistence.appendServerUpdate(name, document, update);
        void connection.transact((doc) => Y.applyUpdate(doc, update));
      });
      if (!verdict.ok) throw refusalOf(verdict);
      await logged;
      this.writtenEvents.notify({ orgId, roomId, update, via: "rest", userId: writer.userId });
    } finally {
      await connection.disconnect({ unloadImmediately: false });
    }
  }
}

function refusalOf(verdict: { reason: string; message: string }): AppError {
  if (verdict.reason === "invalid_update") return new BadRequestError("The body is not a Yjs update", "invalid_update");
  if (verdict.reason === UNPLACEABLE) {
    return new ConflictError("The update depends on changes the room does not have: send it with them (Y.encodeStateAsUpdate)", UNPLACEABLE);
  }
  return new ForbiddenError(verdict.message, verdict.reason);
}
