/**
 * Types shared by the SDK. Apps describe their own data once, in a `TypeConfig`, and every API
 * (presence, users, thread metadata) is typed from it:
 *
 *   type MyTypes = { Presence: { tool: string }; UserInfo: { name: string; color: string }; ThreadMetadata: { x: number } };
 *   const client = createClient<MyTypes>({ ... });
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };
export type JsonObject = { [key: string]: Json | undefined };

/** What the access token's `userInfo` carries; apps may add fields. */
export interface BaseUserInfo {
  name?: string;
  avatar?: string;
  color?: string;
}

export interface TypeConfig {
  Presence: JsonObject;
  UserInfo: BaseUserInfo;
  ThreadMetadata: JsonObject;
}

export interface DefaultTypes {
  Presence: JsonObject;
  UserInfo: BaseUserInfo;
  ThreadMetadata: JsonObject;
}

export type PresenceOf<T extends TypeConfig> = T["Presence"];
export type UserInfoOf<T extends TypeConfig> = T["UserInfo"];
export type ThreadMetadataOf<T extends TypeConfig> = T["ThreadMetadata"];

export interface Point {
  x: number;
  y: number;
}

/** A text selection as Yjs relative positions (Y.relativePositionToJSON), the y-codemirror shape. */
export interface RelativeSelectionJSON {
  anchor: unknown;
  head: unknown;
}

/**
 * One connection's awareness state (docs/presence.md). `user` is stamped by the server from the
 * access token, so nobody can pose as someone else; the rest is written by the client.
 */
export interface AwarenessState<P extends JsonObject = JsonObject> {
  user?: { id: string } & BaseUserInfo & Record<string, unknown>;
  presence?: P;
  cursor?: RelativeSelectionJSON | null;
  pointer?: Point | null;
  typing?: boolean;
}

/** A person in the room, as `getSelf()` and `getOthers()` return them. Objects are immutable. */
export interface User<T extends TypeConfig = DefaultTypes> {
  /** The Yjs client id of this connection: one user may have several. */
  readonly connectionId: number;
  readonly id: string;
  readonly info: Readonly<T["UserInfo"]>;
  readonly presence: Readonly<Partial<T["Presence"]>>;
  readonly pointer: Point | null;
  readonly selection: RelativeSelectionJSON | null;
  readonly isTyping: boolean;
}

/**
 * A room's connection status (client/core/connection.ts has the machine behind it). `refused`: the
 * server refused the room for good (the reason is on `events.error`); `disconnected`: left, or the
 * socket gave up reconnecting.
 */
export type Status = "connecting" | "connected" | "reconnecting" | "disconnected" | "refused";

/** Errors the SDK reports through `room.events.error` / `client.events.error` (and useErrorListener). */
export class SyncForgeError extends Error {
  readonly code: string;
  readonly roomId: string | null;
  constructor(code: string, message: string, roomId: string | null = null) {
    super(message);
    this.name = "SyncForgeError";
    this.code = code;
    this.roomId = roomId;
  }
}
