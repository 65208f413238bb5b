/**
 * Presence over Yjs awareness (docs/presence.md). The local state is kept here and written to the
 * awareness through a throttle, so calling updatePresence on every mouse move costs at most one
 * message per interval while getSelf() reflects the change at once. Snapshots are immutable and
 * structurally shared: a user whose state did not change keeps the same object, and getOthers()
 * keeps the same array until someone changes, which is what lets selectors skip re-renders.
 */
import type { Awareness } from "y-protocols/awareness";
import { makeEventSource, type Observable } from "./event-source.ts";
import { createThrottler, type Throttler } from "./throttle.ts";
import { colorForUser, type RemotePointer } from "./cursors.ts";
import type { AwarenessState, BaseUserInfo, Point, RelativeSelectionJSON, TypeConfig, User } from "./types.ts";

export const DEFAULT_TYPING_TIMEOUT_MS = 3000;

export interface Identity {
  id: string;
  info: BaseUserInfo & Record<string, unknown>;
}

export interface PresenceOptions<T extends TypeConfig> {
  awareness: Awareness;
  throttleMs: number;
  initialPresence?: Partial<T["Presence"]>;
  typingTimeoutMs?: number;
}

export class PresenceStore<T extends TypeConfig> {
  private readonly awareness: Awareness;
  private readonly throttler: Throttler;
  private readonly typingTimeoutMs: number;
  private readonly selfEvents = makeEventSource<User<T> | null>();
  private readonly othersEvents = makeEventSource<readonly User<T>[]>();
  private local: AwarenessState<T["Presence"]>;
  private identity: Identity | null = null;
  private self: User<T> | null = null;
  private others: readonly User<T>[] = [];
  private readonly cache = new Map<number, { key: string; user: User<T> }>();
  /** Fields changed through the SDK since the last write; only these are written. */
  private readonly dirty = new Set<keyof AwarenessState>(["presence", "pointer", "typing"]);
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;

  readonly events: { self: Observable<User<T> | null>; others: Observable<readonly User<T>[]> };

  constructor(options: PresenceOptions<T>) {
    this.awareness = options.awareness;
    this.typingTimeoutMs = options.typingTimeoutMs ?? DEFAULT_TYPING_TIMEOUT_MS;
    this.local = { presence: { ...(options.initialPresence ?? {}) } as T["Presence"], pointer: null, cursor: null, typing: false };
    this.throttler = createThrottler(() => this.write(), options.throttleMs);
    this.events = { self: this.selfEvents.observable, others: this.othersEvents.observable };
    this.awareness.on("change", this.onChange);
    this.write();
  }

  /** The user the token names; set (and re-set after a refresh) by the room. */
  setIdentity(identity: Identity): void {
    // The same defaults the server stamps (server/realtime/awareness.ts stampedUser).
    const info = { ...identity.info, name: identity.info.name || identity.id, color: identity.info.color || colorForUser(identity.id) };
    if (this.identity && this.identity.id === identity.id && JSON.stringify(this.identity.info) === JSON.stringify(info)) return;
    this.identity = { id: identity.id, info };
    this.local = { ...this.local, user: { ...info, id: identity.id } };
    this.changed("user");
  }

  getSelf(): User<T> | null {
    return this.self;
  }

  getOthers(): readonly User<T>[] {
    return this.others;
  }

  getPresence(): Readonly<Partial<T["Presence"]>> {
    return (this.local.presence ?? {}) as Partial<T["Presence"]>;
  }

  /** Merge into my presence (Liveblocks semantics: a patch, not a replacement). */
  updatePresence(patch: Partial<T["Presence"]>): void {
    this.local = { ...this.local, presence: { ...this.local.presence, ...patch } as T["Presence"] };
    this.changed("presence");
  }

  setPointer(pointer: Point | null): void {
    const current = this.local.pointer;
    if (current === pointer || (current && pointer && current.x === pointer.x && current.y === pointer.y)) return;
    this.local = { ...this.local, pointer: pointer ? { x: pointer.x, y: pointer.y } : null };
    this.changed("pointer");
  }

  setSelection(selection: RelativeSelectionJSON | null): void {
    this.local = { ...this.local, cursor: selection };
    this.changed("cursor");
  }

  /** Say I am typing; it clears itself after a few quiet seconds, or now with `false`. */
  setTyping(isTyping: boolean): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    if (isTyping) this.typingTimer = setTimeout(() => this.setTyping(false), this.typingTimeoutMs);
    if (this.local.typing === isTyping) return;
    this.local = { ...this.local, typing: isTyping };
    this.changed("typing");
  }

  /** Pointers of the others, for the cursor tracker. */
  remotePointers(): RemotePointer[] {
    return this.others.map((u) => ({
      connectionId: u.connectionId,
      userId: u.id,
      name: u.info.name ?? u.id,
      color: u.info.color ?? colorForUser(u.id),
      pointer: u.pointer,
    }));
  }

  /** Send a pending throttled change now. */
  flush(): void {
    this.throttler.flush();
  }

  destroy(): void {
    this.destroyed = true;
    this.throttler.cancel();
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.awareness.off("change", this.onChange);
    this.selfEvents.clear();
    this.othersEvents.clear();
  }

  private changed(field: keyof AwarenessState): void {
    if (this.destroyed) return;
    this.dirty.add(field);
    this.self = this.identity ? this.toUser(this.awareness.clientID, this.local, this.self) : null;
    this.selfEvents.notify(this.self);
    this.throttler.schedule();
  }

  /**
   * Merge the fields the SDK changed into the awareness state. Other fields belong to whoever set
   * them — an editor binding (y-codemirror, y-prosemirror) writes `cursor` itself — and are kept.
   */
  private write(): void {
    if (this.destroyed) return;
    const next: Record<string, unknown> = { ...(this.awareness.getLocalState() ?? {}) };
    for (const field of this.dirty) next[field] = this.local[field];
    this.dirty.clear();
    this.awareness.setLocalState(next);
  }

  private readonly onChange = (): void => {
    const states = this.awareness.getStates() as Map<number, AwarenessState<T["Presence"]>>;
    const next: User<T>[] = [];
    const seen = new Set<number>();
    for (const [clientId, state] of states) {
      if (clientId === this.awareness.clientID || !state || typeof state !== "object") continue;
      seen.add(clientId);
      const key = JSON.stringify(state);
      const cached = this.cache.get(clientId);
      if (cached && cached.key === key) {
        next.push(cached.user);
        continue;
      }
      const user = this.toUser(clientId, state, null);
      this.cache.set(clientId, { key, user });
      next.push(user);
    }
    for (const id of [...this.cache.keys()]) if (!seen.has(id)) this.cache.delete(id);
    next.sort((a, b) => a.connectionId - b.connectionId);
    const same = next.length === this.others.length && next.every((u, i) => u === this.others[i]);
    if (same) return;
    this.others = Object.freeze(next);
    this.othersEvents.notify(this.others);
  };

  private toUser(connectionId: number, state: AwarenessState<T["Presence"]>, previous: User<T> | null): User<T> {
    const { id = "", ...info } = state.user ?? {};
    const user: User<T> = Object.freeze({
      connectionId,
      id,
      info: Object.freeze(info) as T["UserInfo"],
      presence: Object.freeze({ ...(state.presence ?? {}) }) as Partial<T["Presence"]>,
      pointer: state.pointer ?? null,
      selection: state.cursor ?? null,
      isTyping: state.typing === true,
    });
    if (previous && JSON.stringify(previous) === JSON.stringify(user)) return previous;
    return user;
  }
}
