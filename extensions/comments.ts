/**
 * Comments in the room document, enforced on the server.
 *
 * beforeHandleMessage reads every document update a client sends and refuses the whole message
 * when any part of it is not allowed (server/domain/comments/update-guard.ts). It runs after
 * authentication (900) and before persistence (10): a refused update is never logged, applied or
 * broadcast, so no other client and no stored copy ever sees it. The refusal is Hocuspocus'
 * close message for that document with a specific reason (e.g. "comment_not_author"), followed by
 * a WebSocket close 4403 with the same reason when the socket carries no other document.
 *
 * Before refusing, the document is caught up from storage once: with several processes a client may
 * relay another user's change that this process has not received through Redis yet (or ever, if
 * the other process died), or send an edit that depends on one, and that change is in the durable
 * update log (persistence.ts logs before applying). Only what is still forbidden, or still names
 * ids the server does not have, after that is refused. The latter ("update_dependencies_missing")
 * closes the socket with 1013 so that the provider reconnects and resyncs.
 *
 * Read-only connections (viewers) never get here with effect: Hocuspocus drops their updates and
 * answers a sync status of false.
 *
 * After a document loads, the comment maps are observed; changes made by this process' own clients
 * or by server-side writes (never those relayed from another process through Redis, so each change
 * is reported exactly once) become comment events for notifications and the activity feed.
 */
import type {
  Extension,
  beforeHandleMessagePayload,
  afterLoadDocumentPayload,
  connectedPayload,
  afterHandleMessagePayload,
  Connection,
} from "@hocuspocus/server";
import * as Y from "yjs";
import { checkUpdate, UNPLACEABLE, type GuardVerdict } from "../server/domain/comments/update-guard.ts";
import type { RuleWriter } from "../server/domain/comments/comment-rules.ts";
import { COMMENTS, REACTIONS, THREADS } from "../protocol/comment-schema.ts";
import { diffCommentMaps, type CommentEvent } from "../server/domain/comments/comment-events.ts";
import { readDocumentUpdate } from "../protocol/messages.ts";
import { parseDocumentName } from "../protocol/document-name.ts";
import { logger } from "../server/logger.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";
import { CloseCodes } from "../protocol/close-codes.ts";

export const CommentWriteForbidden = 4403;
const MalformedUpdate = { code: 4400, reason: "malformed_message" };
/**
 * An update naming ids the server does not have (update-placement.ts) cannot be judged yet: 1013
 * "try again later" closes the socket, and the provider reconnects and resyncs, sending whatever it
 * has of the missing ids along (y-websocket treats every 44xx close as final, so not 4403).
 */
const DependenciesMissing = CloseCodes.DependenciesMissing;

export interface CommentsExtensionOptions {
  /** false only for benchmarking the guard's cost: every comment rule is then unenforced. */
  guard: boolean;
  /**
   * The user whose connection announces a Yjs client id in the document's awareness (one owner per
   * id, server/realtime/presence/presence-room.ts), if any.
   */
  ownerOf?: (documentName: string, clientId: number) => string | undefined;
  /** Called with the comment changes of one transaction (this process' clients and server writes). */
  onCommentEvents?: (orgId: string, roomId: string, events: CommentEvent[]) => void;
  /** Called after a connection's update that changed document content was applied. */
  onDocumentEdited?: (orgId: string, roomId: string, userId: string) => void;
  /** Called when an authenticated connection opens a room. */
  onUserConnected?: (orgId: string, roomId: string, userId: string) => void;
  /**
   * Apply to the live document what is durable but missing from it (another process's updates
   * that Redis has not delivered, or never will after a crash). Run once before refusing.
   */
  catchUp?: (documentName: string, document: Y.Doc) => Promise<void>;
  /**
   * Whether the organisation's plan includes comments (docs/billing.md), from memory when it can:
   * an update that touches the comment roots is refused with 4403 feature_not_in_plan otherwise.
   */
  commentsAllowed?: (orgId: string) => boolean | Promise<boolean>;
  /** Told of every document update accepted from a client (usage metering; synchronous, cheap). */
  onDocumentUpdate?: (orgId: string) => void;
}

/** A comment write on a plan without comments (docs/billing.md). */
const FeatureNotInPlan = { code: CommentWriteForbidden, reason: "feature_not_in_plan" };

export class Comments implements Extension {
  extensionName = "syncforge-comments";
  // After authenticate (900), before persistence (10): a refused update is never logged or applied.
  priority = 200;

  private readonly options: CommentsExtensionOptions;
  private readonly edited = new WeakSet<Connection>();
  private readonly catchingUp = new Map<Y.Doc, Promise<void>>();
  /** Time spent in the guard's checks (reported at shutdown; the benchmark reads it). */
  private checks = 0;
  private checkNanos = 0n;
  /** Per loaded document: which user first wrote under each Yjs client id (see update-guard.ts). */
  private readonly clientOwners = new WeakMap<Y.Doc, Map<number, string>>();

  constructor(options: CommentsExtensionOptions) {
    this.options = options;
  }

  async beforeHandleMessage({ connection, update, document, context, documentName }: beforeHandleMessagePayload): Promise<void> {
    if (connection.readOnly) return;
    const data = readDocumentUpdate(update);
    if (data === null || data.length <= 2) return;
    const ctx = context as ConnectionContext;
    if (!this.options.guard) {
      if (this.options.onDocumentEdited) this.edited.add(connection);
      this.options.onDocumentUpdate?.(ctx.orgId);
      return;
    }
    const ownerOf = this.ownerLookup(documentName, document);
    const writer = { userId: ctx.userId, canWrite: ctx.access.canWrite, canWriteComments: ctx.access.canWriteComments, ownerOf };
    const started = process.hrtime.bigint();
    let verdict = checkUpdate(document, data, writer);
    this.checkNanos += process.hrtime.bigint() - started;
    this.checks += 1;
    if (!verdict.ok && verdict.reason !== "invalid_update" && this.options.catchUp) {
      // A client relays what it has seen, and it may have seen another user's edit or comment
      // through another process before this one did: judge against everything durable first.
      await this.catchUpOnce(documentName, document);
      verdict = checkUpdate(document, data, writer);
    }
    if (!verdict.ok) {
      logger.info("Refused a document update", { reason: verdict.reason, orgId: ctx.orgId, roomId: ctx.roomId, userId: ctx.userId });
      if (verdict.reason === UNPLACEABLE) {
        // The whole socket, as for an update that could not be saved: closing only this document
        // would leave a Hocuspocus provider unauthenticated for it, never to resync.
        ctx.socket?.close(DependenciesMissing.code, DependenciesMissing.reason);
        throw { ...DependenciesMissing };
      }
      // An update Yjs cannot read is malformed input (as at the socket edge), anything else forbidden.
      const refusal = verdict.reason === "invalid_update" ? MalformedUpdate : { code: CommentWriteForbidden, reason: verdict.reason };
      ctx.socket?.refuse(documentName, refusal.code, refusal.reason);
      // No `message`: Hocuspocus would print it; the reason is what the client gets.
      throw refusal;
    }
    if (verdict.touchesComments && this.options.commentsAllowed && !(await this.options.commentsAllowed(ctx.orgId))) {
      logger.info("Refused a comment write: the plan has no comments", { orgId: ctx.orgId, roomId: ctx.roomId, userId: ctx.userId });
      ctx.socket?.refuse(documentName, FeatureNotInPlan.code, FeatureNotInPlan.reason);
      throw { ...FeatureNotInPlan };
    }
    if (verdict.touchesContent) this.edited.add(connection);
    this.options.onDocumentUpdate?.(ctx.orgId);
  }

  /**
   * Judge a server-side update (a REST document write, server/realtime/server-documents.ts) by the
   * rules a socket's update meets, with the same catch-up before a refusal, and call `apply` in the
   * same turn as the check it passed, so nothing lands in between. Never throws for bad input.
   */
  async guardServerUpdate(documentName: string, document: Y.Doc, update: Uint8Array, writer: RuleWriter, apply: () => void): Promise<GuardVerdict> {
    const full = { ...writer, ownerOf: this.ownerLookup(documentName, document) };
    let verdict = this.options.guard ? checkUpdate(document, update, full) : ({ ok: true, touchesContent: true, touchesComments: false } as const);
    if (!verdict.ok && verdict.reason !== "invalid_update" && this.options.catchUp) {
      await this.catchUpOnce(documentName, document);
      verdict = checkUpdate(document, update, full);
    }
    if (verdict.ok) apply();
    else logger.info("Refused a server-side document update", { reason: verdict.reason, documentName, userId: writer.userId });
    return verdict;
  }

  /**
   * Who owns a Yjs client id in the document: the user whose connection announces it in awareness
   * (one owner per id, see server/realtime/presence/), remembered while the document is loaded, also
   * after they leave. An id that a connection only relays is never taken for its own.
   */
  private ownerLookup(documentName: string, document: Y.Doc): (clientId: number) => string | undefined {
    let known = this.clientOwners.get(document);
    if (!known) {
      known = new Map();
      this.clientOwners.set(document, known);
    }
    const owners = known;
    const presenceOwner = this.options.ownerOf;
    return (clientId) => {
      const owner = owners.get(clientId);
      if (owner !== undefined) return owner;
      const user = presenceOwner?.(documentName, clientId);
      if (user !== undefined) owners.set(clientId, user);
      return user;
    };
  }

  /** One catch-up per document at a time; concurrent refusals share it. */
  private catchUpOnce(documentName: string, document: Y.Doc): Promise<void> {
    const existing = this.catchingUp.get(document);
    if (existing) return existing;
    const running = this.options.catchUp!(documentName, document)
      .catch((error: Error) => {
        logger.warn("Could not catch a document up from storage", { documentName, error: error.message });
      })
      .finally(() => this.catchingUp.delete(document));
    this.catchingUp.set(document, running);
    return running;
  }

  async afterHandleMessage({ connection, context }: afterHandleMessagePayload): Promise<void> {
    if (!this.edited.has(connection)) return;
    this.edited.delete(connection);
    const ctx = context as ConnectionContext;
    this.options.onDocumentEdited?.(ctx.orgId, ctx.roomId, ctx.userId);
  }

  async onDestroy(): Promise<void> {
    if (this.checks > 0) {
      logger.info("Comment guard totals", { checks: this.checks, micros: Math.round(Number(this.checkNanos) / 1000) });
    }
  }

  async connected({ context }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext>;
    if (ctx.orgId && ctx.roomId && ctx.userId) this.options.onUserConnected?.(ctx.orgId, ctx.roomId, ctx.userId);
  }

  async afterLoadDocument({ document, documentName }: afterLoadDocumentPayload): Promise<void> {
    const room = parseDocumentName(documentName);
    const report = this.options.onCommentEvents;
    if (!room || !report) return;
    let maps: [Y.Map<unknown>, Y.Map<unknown>, Y.Map<unknown>];
    try {
      maps = [document.getMap(THREADS), document.getMap(COMMENTS), document.getMap(REACTIONS)];
    } catch (error) {
      logger.warn("A document's comment roots are not maps; comment events are off for it", { documentName, error: (error as Error).message });
      return;
    }
    const [threads, comments, reactions] = maps;
    // One batch per transaction: the three observers of one transaction feed the same list.
    const pending = new WeakMap<Y.Transaction, CommentEvent[]>();
    const observe = (map: Y.Map<unknown>, root: string) =>
      map.observe((event: Y.YMapEvent<unknown>, transaction: Y.Transaction) => {
        const source = (transaction.origin as { source?: string } | null)?.source;
        if (source !== "connection" && source !== "local") return; // load (null) or another process (redis)
        let batch = pending.get(transaction);
        if (!batch) {
          batch = [];
          pending.set(transaction, batch);
          const events = batch;
          queueMicrotask(() => {
            if (events.length > 0) report(room.orgId, room.roomId, events);
          });
        }
        batch.push(...diffCommentMaps(root, event.changes.keys, { threads, comments, reactions }));
      });
    observe(threads, THREADS);
    observe(comments, COMMENTS);
    observe(reactions, REACTIONS);
  }
}
