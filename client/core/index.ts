/**
 * @syncforge/client — the framework-free SDK. See docs/sdk.md.
 */
export { createClient, toCollabUrl, DEFAULT_RECONNECT } from "./client.ts";
export type { Client, ClientOptions, EnterRoomOptions, ReconnectOptions } from "./client.ts";
export { Room } from "./room.ts";
export type { RoomEvents, CustomEvent } from "./room.ts";
export { attachYwsEvents } from "./yws-events.ts";
export type { YwsEvents, YwsProviderLike } from "./yws-events.ts";
export { makeEventSource } from "./event-source.ts";
export type { EventSource, Observable, Callback, Unsubscribe } from "./event-source.ts";
export { clampThrottle, throttleDelay, createThrottler, DEFAULT_THROTTLE_MS, MIN_THROTTLE_MS, MAX_THROTTLE_MS } from "./throttle.ts";
export { createCursorTracker, interpolatePoint, positionAt, retarget, lerp, colorForUser } from "./cursors.ts";
export type { RenderedCursor, Track, CursorTracker } from "./cursors.ts";
export { toRelativeSelection, resolveSelection, resolveSelections } from "./selections.ts";
export type { ResolvedSelection, RemoteSelection } from "./selections.ts";
export { readTokenClaims, refreshDelay, permissionsFor } from "./token.ts";
export { CommentsStore, createId, textAnchor, isWriteRefusal, THREADS, COMMENTS, REACTIONS } from "./comments.ts";
export type { ThreadData, CommentData, Reaction, ThreadAnchor, CreateThreadInput } from "./comments.ts";
export { commentRulesFor } from "./comment-rules.ts";
export type { CommentRules, MyAccess } from "./comment-rules.ts";
export { Inbox, ActivityFeed, parseServerMessage } from "./notifications.ts";
export { createTokenInbox, toHttpUrl } from "./inbox-rest.ts";
export type { TokenInboxOptions } from "./inbox-rest.ts";
export type { InboxNotification, ActivityItem, InboxBackend, ActivityBackend, InboxSnapshot, ServerMessage } from "./notifications.ts";
export type { AuthEndpoint, TokenClaims } from "./token.ts";
export { SyncForgeError } from "./types.ts";
export type {
  AwarenessState,
  BaseUserInfo,
  DefaultTypes,
  Json,
  JsonObject,
  Point,
  RelativeSelectionJSON,
  Status,
  TypeConfig,
  User,
} from "./types.ts";
