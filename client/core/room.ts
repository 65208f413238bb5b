/**
 * A room: one Y.Doc kept in sync with the server through a HocuspocusProvider (over the client's
 * shared socket), plus presence, cursors and selections on the provider's awareness. The Y.Doc
 * and the provider are exposed as they are, so any Yjs editor binding works with `room.doc` and
 * `room.awareness`.
 *
 * The connection status comes from one state machine (connection.ts) fed by the provider's
 * public events; this file only translates those events and carries out the machine's actions.
 * A token refresh is sent on the live connection and does not change the status.
 */
import * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";
import type { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import { makeEventSource, type Observable } from "./event-source.ts";
import { PresenceStore } from "./presence.ts";
import { createCursorTracker, type CursorTracker, type RenderedCursor } from "./cursors.ts";
import { resolveSelections, toRelativeSelection, type RemoteSelection } from "./selections.ts";
import { permissionsFor, type TokenSource } from "./token.ts";
import { CommentsStore } from "./comments.ts";
import { createRoomConnection, type RoomConnection } from "./connection.ts";
import { ActivityFeed, parseServerMessage, type ActivityBackend, type InboxNotification } from "./notifications.ts";
import { SyncForgeError, type Json, type Point, type Status, type TypeConfig, type User } from "./types.ts";
import { encodeBroadcast, parseEventMessage, type RoomEventMessage } from "../../protocol/events.ts";

/** A broadcast event another connection (or the app's backend: `user` null, `connectionId` −1) sent to the room. */
export type CustomEvent<E = Json> = Omit<RoomEventMessage<E>, "type">;

export interface RoomEvents<T extends TypeConfig> {
  status: Observable<Status>;
  self: Observable<User<T> | null>;
  others: Observable<readonly User<T>[]>;
  cursors: Observable<readonly RenderedCursor[]>;
  synced: Observable<boolean>;
  error: Observable<SyncForgeError>;
  /** A new token was handed to the server on the live connection. */
  tokenRefreshed: Observable<void>;
  /** Stateless messages from the server (JSON strings), for features built on them. */
  stateless: Observable<string>;
  /** Any change in the room's document (local or remote). */
  document: Observable<{ update: Uint8Array; origin: unknown; local: boolean }>;
  /** Broadcast events from everyone else in the room (`room.broadcast`, or the REST API); never my own. */
  customEvent: Observable<CustomEvent>;
}

export interface RoomInit<T extends TypeConfig> {
  id: string;
  socket: HocuspocusProviderWebsocket;
  createProvider: (doc: Y.Doc) => HocuspocusProvider;
  tokens: TokenSource;
  throttleMs: number;
  initialPresence?: Partial<T["Presence"]>;
  interpolateCursors?: boolean;
  activityBackend?: ActivityBackend;
  onNotification: (notification: InboxNotification) => void;
  onError: (error: SyncForgeError) => void;
  /** The provider left the shared socket for good (refused); the client counts attached rooms. */
  onDetach: () => void;
  onLeave: () => void;
}

export class Room<T extends TypeConfig = TypeConfig> {
  readonly id: string;
  readonly doc: Y.Doc;
  readonly provider: HocuspocusProvider;
  readonly awareness: Awareness;
  readonly events: RoomEvents<T>;
  /** Threads, comments and reactions in this room (docs/comments.md). */
  readonly comments: CommentsStore<T["ThreadMetadata"]>;
  /** The room's activity feed, live. */
  readonly activity: ActivityFeed;

  private readonly socket: HocuspocusProviderWebsocket;
  private readonly tokens: TokenSource;
  private readonly presence: PresenceStore<T>;
  private readonly cursors: CursorTracker;
  private readonly init: RoomInit<T>;
  private readonly connection: RoomConnection;
  private readonly syncedEvents = makeEventSource<boolean>();
  private readonly errorEvents = makeEventSource<SyncForgeError>();
  private readonly tokenEvents = makeEventSource<void>();
  private readonly statelessEvents = makeEventSource<string>();
  private readonly documentEvents = makeEventSource<{ update: Uint8Array; origin: unknown; local: boolean }>();
  private readonly customEvents = makeEventSource<CustomEvent>();
  private left = false;
  private holders = 1;
  private readonly unsubscribers: Array<() => void> = [];
  private refusedWith: SyncForgeError | null = null;
  private readonly refusalEvents = makeEventSource<SyncForgeError>();

  constructor(init: RoomInit<T>) {
    this.init = init;
    this.id = init.id;
    this.socket = init.socket;
    this.tokens = init.tokens;
    this.doc = new Y.Doc();
    this.provider = init.createProvider(this.doc);
    this.awareness = this.provider.awareness!;
    this.presence = new PresenceStore<T>({ awareness: this.awareness, throttleMs: init.throttleMs, initialPresence: init.initialPresence });
    this.cursors = createCursorTracker({ interpolate: init.interpolateCursors });
    this.connection = createRoomConnection({
      roomId: this.id,
      actions: {
        reauthenticate: () => void this.provider.sendToken().then(() => this.provider.startSync()),
        invalidateToken: () => this.tokens.invalidate(),
        sendToken: () => void this.provider.sendToken().then(() => this.tokenEvents.notify()),
        refused: (error, kind) => this.stop(error, kind),
        reportError: (error) => this.reportError(error),
      },
    });
    this.unsubscribers.push(this.presence.events.others.subscribe(() => this.cursors.update(this.presence.remotePointers())));
    this.events = {
      status: this.connection.status,
      self: this.presence.events.self,
      others: this.presence.events.others,
      cursors: { subscribe: this.cursors.subscribe, waitUntil: this.cursors.waitUntil },
      synced: this.syncedEvents.observable,
      error: this.errorEvents.observable,
      tokenRefreshed: this.tokenEvents.observable,
      stateless: this.statelessEvents.observable,
      document: this.documentEvents.observable,
      customEvent: this.customEvents.observable,
    };
    const claims = this.tokens.claims;
    if (claims) this.presence.setIdentity({ id: claims.userId, info: claims.info });
    this.activity = new ActivityFeed(this.id, init.activityBackend);
    this.comments = new CommentsStore<T["ThreadMetadata"]>({
      doc: this.doc,
      me: () => this.me(),
      verdict: () => this.verdict(),
      hasUnsyncedChanges: () => this.provider.hasUnsyncedChanges,
      onAcknowledged: (callback) => {
        const listener = ({ number }: { number: number }) => {
          if (number === 0) callback();
        };
        this.provider.on("unsyncedChanges", listener);
        return () => this.provider.off("unsyncedChanges", listener);
      },
    });

    this.provider.on("authenticated", this.onAuthenticated);
    this.provider.on("authenticationFailed", this.onAuthenticationFailed);
    this.provider.on("close", this.onClose);
    this.provider.on("disconnect", this.onDisconnect);
    this.provider.on("synced", this.onSynced);
    this.provider.on("stateless", this.onStateless);
    this.socket.on("maxAttemptsFailed", this.onGaveUp);
    this.doc.on("update", this.onDocumentUpdate);
    this.provider.attach();
  }

  getStatus(): Status {
    return this.connection.getStatus();
  }

  isSynced(): boolean {
    return this.provider.isSynced;
  }

  /** Resolves once the document has had its first sync with the server. */
  waitUntilSynced(): Promise<void> {
    if (this.provider.isSynced) return Promise.resolve();
    return this.syncedEvents.waitUntil((s) => s).then(() => undefined);
  }

  /** True while local edits have not been acknowledged by the server (offline edits included). */
  hasUnsyncedChanges(): boolean {
    return this.provider.hasUnsyncedChanges;
  }

  // ── presence ────────────────────────────────────────────────────────────────────────────────
  getSelf(): User<T> | null {
    return this.presence.getSelf();
  }
  getOthers(): readonly User<T>[] {
    return this.presence.getOthers();
  }
  getPresence(): Readonly<Partial<T["Presence"]>> {
    return this.presence.getPresence();
  }
  updatePresence(patch: Partial<T["Presence"]>): void {
    this.presence.updatePresence(patch);
  }
  /** Typing indicator: clears itself after a few quiet seconds. */
  setTyping(isTyping: boolean): void {
    this.presence.setTyping(isTyping);
  }

  // ── cursors and selections ──────────────────────────────────────────────────────────────────
  /** My pointer in app coordinates (null hides it); sent throttled. */
  updateCursor(point: Point | null): void {
    this.presence.setPointer(point);
  }
  /** Others' cursors as drawn now (interpolated); subscribe with `events.cursors`. */
  getCursors(): readonly RenderedCursor[] {
    return this.cursors.get();
  }
  /** Share my selection in `text` (offsets); it follows the text as others edit. */
  setSelection(text: Y.Text, anchor: number, head: number = anchor): void {
    this.presence.setSelection(toRelativeSelection(text, anchor, head));
  }
  clearSelection(): void {
    this.presence.setSelection(null);
  }
  /** Others' selections in `text`, resolved to offsets for drawing. */
  getSelections(text: Y.Text): RemoteSelection<T>[] {
    return resolveSelections(text, this.presence.getOthers());
  }

  /**
   * True once the server refused a write here: this room has stopped, and `client.enterRoom(id)`
   * gives a fresh room whose document holds only what the server accepted (RoomProvider does it).
   */
  needsResync(): boolean {
    return this.refusedWith !== null;
  }

  /**
   * Send a JSON event to everyone else in the room, now; events are not stored. While the room is
   * not connected the event is dropped, unless `shouldQueueEventIfNotReady` (Liveblocks' option)
   * queues it for the reconnect. Needs room:write or room:presence:write; a refusal arrives on
   * `events.error`: broadcast_forbidden, event_too_large, event_rate_limited.
   */
  broadcast(event: Json, options: { shouldQueueEventIfNotReady?: boolean } = {}): void {
    if (!options.shouldQueueEventIfNotReady && this.getStatus() !== "connected") return;
    this.provider.sendStateless(encodeBroadcast(event));
  }

  /** Send a stateless message to the server for this room. */
  sendStateless(payload: string): void {
    this.provider.sendStateless(payload);
  }

  /**
   * Leave the room. Each `client.enterRoom` is paired with one `leave()`; when the last holder
   * leaves, others see me go, the provider detaches and every timer stops.
   */
  leave(): void {
    if (this.left) return;
    this.holders--;
    if (this.holders <= 0) this.close();
  }

  /** @internal another enterRoom of the same room. */
  retain(): void {
    this.holders++;
  }

  /** @internal close now, whoever holds the room (client.destroy). */
  close(): void {
    if (this.left) return;
    this.left = true;
    this.presence.flush();
    for (const off of this.unsubscribers.splice(0)) off();
    this.socket.off("maxAttemptsFailed", this.onGaveUp);
    this.doc.off("update", this.onDocumentUpdate);
    this.tokens.destroy();
    this.comments.destroy();
    this.activity.clear();
    this.refusalEvents.notify(new SyncForgeError("room_left", "The room was left", this.id));
    this.refusalEvents.clear();
    this.presence.destroy();
    this.cursors.destroy();
    this.provider.destroy();
    this.connection.send({ type: "LEAVE" });
    this.connection.stop();
    this.syncedEvents.clear();
    this.errorEvents.clear();
    this.tokenEvents.clear();
    this.statelessEvents.clear();
    this.documentEvents.clear();
    this.customEvents.clear();
    this.doc.destroy();
    this.init.onLeave();
  }

  /** @internal called by the client when the token source has a new token. */
  handleTokenRefreshed(): void {
    const claims = this.tokens.claims;
    if (claims) this.presence.setIdentity({ id: claims.userId, info: claims.info });
    this.connection.send({ type: "TOKEN_REFRESHED" });
  }

  /** @internal */
  reportError(error: SyncForgeError): void {
    this.errorEvents.notify(error);
    this.init.onError(error);
  }

  /**
   * Who I am and what my token lets me change here (null before the token is known), so a UI shows
   * only the controls the server would accept (comment-rules.ts).
   */
  getMyAccess(): { userId: string; canWrite: boolean; canWriteComments: boolean } | null {
    return this.me();
  }

  /** Who I am and whether I may change the document, from the token (the server checks again). */
  private me(): { userId: string; canWrite: boolean; canWriteComments: boolean } | null {
    const claims = this.tokens.claims;
    if (!claims) return null;
    const perms = permissionsFor(claims, this.id);
    const canWrite = perms.has("room:write");
    return { userId: claims.userId, canWrite, canWriteComments: canWrite || perms.has("comments:write") };
  }

  /** The server's verdict on local changes: acknowledged (resolve) or refused (reject). */
  private verdict(): Promise<void> {
    if (this.refusedWith) return Promise.reject(this.refusedWith);
    if (!this.provider.hasUnsyncedChanges) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        this.provider.off("unsyncedChanges", onChange);
        offRefusal();
      };
      const onChange = ({ number }: { number: number }) => {
        if (number === 0) {
          done();
          resolve();
        }
      };
      const offRefusal = this.refusalEvents.subscribe((error) => {
        done();
        reject(error);
      });
      this.provider.on("unsyncedChanges", onChange);
    });
  }

  /**
   * The machine's final verdict: detach the provider, or it would authenticate (or resend a
   * refused update) on every reconnect; the client closes the shared socket when no room is left
   * attached to it.
   */
  private stop(error: SyncForgeError, kind: "write" | "final"): void {
    this.provider.detach();
    this.init.onDetach();
    this.tokens.destroy(); // no more scheduled refreshes for a room that will not use them
    if (kind === "write") {
      // The server refused a write and closed the room; re-entering the room syncs afresh.
      this.refusedWith = error;
      this.refusalEvents.notify(error);
    }
    this.reportError(error);
  }

  private readonly onAuthenticated = (): void => {
    const claims = this.tokens.claims;
    if (claims) this.presence.setIdentity({ id: claims.userId, info: claims.info });
    this.connection.send({ type: "AUTHENTICATED" });
  };

  private readonly onAuthenticationFailed = ({ reason }: { reason: string }): void => {
    this.connection.send({ type: "AUTH_FAILED", reason });
  };

  /**
   * The provider emits "close" for a socket close (after "disconnect", the socket already marked
   * disconnected) and for the server's Close message for this one document (the socket still open).
   */
  private readonly onClose = ({ event }: { event?: { reason?: string } }): void => {
    if (this.socket.status !== "connected") return;
    this.connection.send({ type: "ROOM_CLOSED", reason: event?.reason ?? "" });
  };

  private readonly onDisconnect = (): void => {
    this.connection.send({ type: "SOCKET_CLOSED" });
  };

  private readonly onGaveUp = (): void => {
    this.connection.send({ type: "SOCKET_GAVE_UP" });
  };

  private readonly onSynced = ({ state }: { state: boolean }): void => {
    this.syncedEvents.notify(state);
  };

  private readonly onStateless = ({ payload }: { payload: string }): void => {
    const event = parseEventMessage(payload);
    if (event?.type === "sf:event") this.customEvents.notify({ user: event.user, connectionId: event.connectionId, event: event.event as Json });
    else if (event) this.reportError(new SyncForgeError(event.code, event.message, this.id));
    const message = event ? null : parseServerMessage(payload);
    if (message?.type === "sf:notification") this.init.onNotification(message.notification);
    else if (message) this.activity.receive(message.activity);
    this.statelessEvents.notify(payload);
  };

  private readonly onDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    this.documentEvents.notify({ update, origin, local: origin !== this.provider });
  };
}
