/**
 * The user's inbox and the room's activity feed, as the server pushes them (docs/notifications.md):
 * Hocuspocus stateless messages `sf:notification` (to every socket of the user, whatever room it
 * has open) and `sf:activity` / `sf:activity_updated` (to every connection of the room).
 *
 * The inbox: by default the SDK reads and marks it with the user's own access token and keeps a
 * live stream open while someone watches it (`start()`; inbox-rest.ts), so notifications arrive
 * with no room open. An app may instead pass its backend's `inbox` callbacks to createClient.
 * The activity feed's history needs the app's backend (`activity`); live activity needs nothing.
 */
import { makeEventSource, type Observable } from "./event-source.ts";
import { parseServerMessage, type ActivityItem, type InboxNotification } from "../../protocol/notifications.ts";

export { parseServerMessage, type ActivityItem, type InboxNotification, type ServerMessage } from "../../protocol/notifications.ts";

/** The app backend's side of the inbox (it calls SyncForge's REST API with its API key). */
export interface InboxBackend {
  list?: () => Promise<{ data: InboxNotification[] }>;
  markRead?: (id: string) => Promise<void>;
  markAllRead?: () => Promise<void>;
  /** Live notifications outside rooms, while started; returns the stop function. */
  stream?: (onNotification: (notification: InboxNotification) => void) => () => void;
}

export interface ActivityBackend {
  list?: (roomId: string) => Promise<{ data: ActivityItem[] }>;
}

export interface InboxSnapshot {
  /** Newest first. */
  notifications: readonly InboxNotification[];
  unreadCount: number;
}

export class Inbox implements Observable<InboxSnapshot> {
  private readonly backend: InboxBackend;
  private readonly events = makeEventSource<InboxSnapshot>();
  private readonly arrivals = makeEventSource<InboxNotification>();
  private readonly byId = new Map<string, InboxNotification>();
  private snapshot: InboxSnapshot = { notifications: [], unreadCount: 0 };
  /** Each notification pushed live (not history), once: what toasts show. */
  readonly live: Observable<InboxNotification> = this.arrivals.observable;
  private watchers = 0;
  private stopStream: (() => void) | null = null;
  readonly subscribe = this.events.subscribe;
  readonly waitUntil = this.events.waitUntil;

  constructor(backend: InboxBackend = {}) {
    this.backend = backend;
  }

  get(): InboxSnapshot {
    return this.snapshot;
  }

  /** Load history from the app's backend (merged with what arrived live). */
  async load(): Promise<void> {
    if (!this.backend.list) return;
    const { data } = await this.backend.list();
    for (const n of data) if (!this.byId.has(n.id)) this.byId.set(n.id, n);
    this.publish();
  }

  /**
   * Load history and keep the live stream open until the returned function is called (counted:
   * the stream closes when the last watcher stops). Load failures are left to `load()`'s caller.
   */
  start(): () => void {
    this.watchers++;
    if (this.watchers === 1) {
      this.load().catch(() => undefined);
      this.stopStream = this.backend.stream?.((n) => this.receive(n)) ?? null;
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.watchers === 0) {
        this.stopStream?.();
        this.stopStream = null;
      }
    };
  }

  /** @internal a pushed notification (de-duplicated by id: one per socket, and after a load). */
  receive(notification: InboxNotification): void {
    if (this.byId.has(notification.id)) return;
    this.byId.set(notification.id, notification);
    this.publish();
    this.arrivals.notify(notification);
  }

  /** Optimistic: read at once here, then confirmed by the backend (rolled back if it fails). */
  async markRead(id: string): Promise<void> {
    const current = this.byId.get(id);
    if (!current || current.readAt) return;
    this.byId.set(id, { ...current, readAt: new Date().toISOString() });
    this.publish();
    try {
      await this.backend.markRead?.(id);
    } catch (error) {
      this.byId.set(id, current);
      this.publish();
      throw error;
    }
  }

  async markAllRead(): Promise<void> {
    const before = new Map(this.byId);
    const now = new Date().toISOString();
    for (const [id, n] of this.byId) if (!n.readAt) this.byId.set(id, { ...n, readAt: now });
    this.publish();
    try {
      await this.backend.markAllRead?.();
    } catch (error) {
      for (const [id, n] of before) this.byId.set(id, n);
      this.publish();
      throw error;
    }
  }

  clear(): void {
    this.stopStream?.();
    this.stopStream = null;
    this.watchers = 0;
    this.events.clear();
    this.arrivals.clear();
  }

  private publish(): void {
    const notifications = [...this.byId.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
    this.snapshot = Object.freeze({ notifications: Object.freeze(notifications), unreadCount: notifications.filter((n) => !n.readAt).length });
    this.events.notify(this.snapshot);
  }
}

/** A room's activity, oldest first; `document_edited` rows are updated in place as counts grow. */
export class ActivityFeed implements Observable<readonly ActivityItem[]> {
  private readonly events = makeEventSource<readonly ActivityItem[]>();
  private readonly byId = new Map<string, ActivityItem>();
  private snapshot: readonly ActivityItem[] = [];
  private readonly roomId: string;
  private readonly backend: ActivityBackend;
  readonly subscribe = this.events.subscribe;
  readonly waitUntil = this.events.waitUntil;

  constructor(roomId: string, backend: ActivityBackend = {}) {
    this.roomId = roomId;
    this.backend = backend;
  }

  get(): readonly ActivityItem[] {
    return this.snapshot;
  }

  async load(): Promise<void> {
    if (!this.backend.list) return;
    const { data } = await this.backend.list(this.roomId);
    for (const item of data) if (!this.byId.has(item.id)) this.byId.set(item.id, item);
    this.publish();
  }

  /** @internal */
  receive(item: ActivityItem): void {
    const current = this.byId.get(item.id);
    if (current && current.updatedAt >= item.updatedAt && current.count >= item.count) return;
    this.byId.set(item.id, item);
    this.publish();
  }

  clear(): void {
    this.events.clear();
  }

  private publish(): void {
    this.snapshot = Object.freeze([...this.byId.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1)));
    this.events.notify(this.snapshot);
  }
}
