/**
 * The client: one per app (or per signed-in user). It owns one WebSocket to the server, shared by
 * every room it enters (Hocuspocus multiplexing), reconnecting with exponential backoff and
 * jitter; each room gets its own access token from the app's auth endpoint, refreshed before it
 * expires. Destroying the client leaves every room and closes the socket.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import type * as Y from "yjs";
import { makeEventSource, type Observable } from "./event-source.ts";
import { Room } from "./room.ts";
import { clampThrottle } from "./throttle.ts";
import { fetchToken, TokenSource, type AuthEndpoint } from "./token.ts";
import { SyncForgeError, type DefaultTypes, type TypeConfig } from "./types.ts";
import { Inbox, type ActivityBackend, type InboxBackend } from "./notifications.ts";
import { createTokenInbox, toHttpUrl } from "./inbox-rest.ts";

export interface ReconnectOptions {
  /** First delay between attempts (ms). */
  delay: number;
  /** Growth of the delay per attempt. */
  factor: number;
  minDelay: number;
  maxDelay: number;
  /** Randomise each delay between minDelay and the computed one, so clients do not stampede. */
  jitter: boolean;
  /** 0: retry forever. */
  maxAttempts: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = { delay: 1000, factor: 2, minDelay: 1000, maxDelay: 30_000, jitter: true, maxAttempts: 0 };

export interface ClientOptions {
  /** The server: `wss://host/collab`, or `https://host` (then /collab is added). */
  url: string;
  /** The app's endpoint that answers POST { room } with { token }, or a function doing it. */
  authEndpoint?: AuthEndpoint;
  /** A fixed token instead (development; it is never refreshed). */
  token?: string;
  /** Presence and cursor send interval, 16–1000 ms (default 100; 16 is 60 per second). */
  throttle?: number;
  reconnect?: Partial<ReconnectOptions>;
  /** Share of a token's lifetime after which it is refreshed (default 0.8). */
  tokenRefreshRatio?: number;
  /** Smooth remote cursors between updates (default true). */
  interpolateCursors?: boolean;
  /**
   * The app backend's inbox calls instead of the default: the SDK reads and marks the inbox and
   * streams it live with the user's own access token (the auth endpoint called with no room).
   */
  inbox?: InboxBackend;
  /** The app backend's activity history call; live activity needs none. */
  activity?: ActivityBackend;
  /** A WebSocket implementation where there is no global one. */
  WebSocket?: unknown;
  fetch?: typeof fetch;
}

export interface EnterRoomOptions<T extends TypeConfig> {
  initialPresence?: Partial<T["Presence"]>;
}

export interface Client<T extends TypeConfig = DefaultTypes> {
  /**
   * Enter a room (or get the one already entered). Each call must be paired with one
   * `room.leave()`; the room really closes when the last holder leaves.
   */
  enterRoom(roomId: string, options?: EnterRoomOptions<T>): Room<T>;
  getRoom(roomId: string): Room<T> | null;
  /** Leave every room and close the socket. */
  destroy(): void;
  readonly events: { error: Observable<SyncForgeError> };
  /** The user's notifications, pushed live on any open room (docs/notifications.md). */
  readonly inbox: Inbox;
  /** @internal the options, for the React provider and extensions. */
  readonly options: Readonly<ClientOptions>;
}

/** Normalise the server address to the collaboration WebSocket URL. */
export function toCollabUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/collab";
  return u.toString().replace(/\/$/, "");
}

export function createClient<T extends TypeConfig = DefaultTypes>(options: ClientOptions): Client<T> {
  if (!options.authEndpoint && !options.token) throw new Error("createClient needs an authEndpoint (or a token)");
  const url = toCollabUrl(options.url);
  const throttleMs = clampThrottle(options.throttle);
  const reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  const errors = makeEventSource<SyncForgeError>();
  const rooms = new Map<string, Room<T>>();
  /**
   * Rooms whose provider is attached to the shared socket: the socket closes when the last one
   * leaves or is refused. Counted here, where rooms are created, rather than read from the socket.
   */
  const attached = new Set<Room<T>>();
  let socket: HocuspocusProviderWebsocket | null = null;
  let destroyed = false;
  const inboxTokens = new TokenSource({
    fixed: options.token,
    fetch: () => fetchToken(options.authEndpoint!, undefined, options.fetch),
    refreshRatio: options.tokenRefreshRatio,
  });
  const inbox = new Inbox(
    options.inbox ??
      createTokenInbox({ httpUrl: toHttpUrl(url), getToken: () => inboxTokens.get(), invalidateToken: () => inboxTokens.invalidate(), fetch: options.fetch }),
  );

  function getSocket(): HocuspocusProviderWebsocket {
    socket ??= new HocuspocusProviderWebsocket({
      url,
      ...reconnect,
      ...(options.WebSocket ? { WebSocketPolyfill: options.WebSocket } : {}),
    });
    return socket;
  }

  function release(room: Room<T>): void {
    if (!attached.delete(room) || attached.size > 0 || !socket) return;
    socket.destroy();
    socket = null;
  }

  function enterRoom(roomId: string, roomOptions: EnterRoomOptions<T> = {}): Room<T> {
    if (destroyed) throw new Error("This SyncForge client was destroyed; create a new one");
    const existing = rooms.get(roomId);
    if (existing && !existing.needsResync()) {
      existing.retain();
      return existing;
    }
    // A room stopped by a refused write stays with its holders until they leave; the new one
    // starts from the server's copy (on a new socket when no room was left attached).
    const ws = getSocket();
    let room: Room<T> | null = null;
    const tokens = new TokenSource({
      fixed: options.token,
      fetch: () => fetchToken(options.authEndpoint!, roomId, options.fetch),
      refreshRatio: options.tokenRefreshRatio,
      onRefreshed: () => room?.handleTokenRefreshed(),
      onError: (error) => room?.reportError(new SyncForgeError("token_refresh_failed", error.message, roomId)),
    });
    room = new Room<T>({
      id: roomId,
      socket: ws,
      tokens,
      throttleMs,
      initialPresence: roomOptions.initialPresence,
      interpolateCursors: options.interpolateCursors,
      createProvider: (doc: Y.Doc) =>
        new HocuspocusProvider({ websocketProvider: ws, name: roomId, document: doc, token: () => tokens.get() }),
      activityBackend: options.activity,
      onNotification: (notification) => inbox.receive(notification),
      onError: (error) => errors.notify(error),
      onDetach: () => release(room!),
      onLeave: () => {
        if (rooms.get(roomId) === room) rooms.delete(roomId);
        release(room!);
      },
    });
    rooms.set(roomId, room);
    attached.add(room);
    return room;
  }

  return {
    enterRoom,
    getRoom: (roomId) => rooms.get(roomId) ?? null,
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const room of [...rooms.values()]) room.close();
      rooms.clear();
      socket?.destroy();
      socket = null;
      errors.clear();
      inbox.clear();
      inboxTokens.destroy();
    },
    events: { error: errors.observable },
    inbox,
    options,
  };
}
