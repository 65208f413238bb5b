/**
 * React hooks: small wrappers over useSyncExternalStore on the core's event sources, in Liveblocks'
 * grammar — reads (useStatus, useSelf, useOthers, useCursors), actions (useUpdateMyPresence,
 * useUpdateCursor), callbacks (useErrorListener), and useMyPresence() → [value, setter]. Selectors
 * keep components from re-rendering on changes they do not read.
 */
import { useCallback, useContext, useEffect, useRef, useSyncExternalStore } from "react";
import type * as Y from "yjs";
import type { Client, CustomEvent, Json, MyAccess, RenderedCursor, RemoteSelection, Room, Status, SyncForgeError, TypeConfig, User, Point } from "../core/index.ts";
import { ClientContext, RoomContext, missingProvider } from "./providers.ts";
import { shallow, useSelector, type EqualityFn } from "./use-selector.ts";

export type UserOf<T extends TypeConfig> = User<T>;

export function useClient<T extends TypeConfig = TypeConfig>(): Client<T> {
  const client = useContext(ClientContext);
  if (!client) throw new Error(missingProvider("useClient", "SyncForgeProvider"));
  return client as unknown as Client<T>;
}

export function useRoom<T extends TypeConfig = TypeConfig>(): Room<T> {
  const room = useContext(RoomContext);
  if (!room) throw new Error(missingProvider("useRoom", "RoomProvider"));
  return room as unknown as Room<T>;
}

function useRoomFor<T extends TypeConfig>(hook: string): Room<T> {
  const room = useContext(RoomContext);
  if (!room) throw new Error(missingProvider(hook, "RoomProvider"));
  return room as unknown as Room<T>;
}

/** "connecting" | "connected" | "reconnecting" | "refused" | "disconnected" (docs/sdk.md, "Connection status"). */
export function useStatus(): Status {
  const room = useRoomFor("useStatus");
  const subscribe = useCallback((cb: () => void) => room.events.status.subscribe(cb), [room]);
  const get = useCallback(() => room.getStatus(), [room]);
  return useSyncExternalStore(subscribe, get, get);
}

const identity = <X,>(x: X): X => x;

/** Me, as others see me (null until the room knows who I am); with a selector, only that part. */
export function useSelf<T extends TypeConfig = TypeConfig>(): User<T> | null;
export function useSelf<T extends TypeConfig, R>(selector: (self: User<T>) => R, isEqual?: EqualityFn<R | null>): R | null;
export function useSelf<T extends TypeConfig, R>(selector?: (self: User<T>) => R, isEqual?: EqualityFn<R | null>): R | User<T> | null {
  const room = useRoomFor<T>("useSelf");
  const subscribe = useCallback((cb: () => void) => room.events.self.subscribe(cb), [room]);
  const get = useCallback(() => room.getSelf(), [room]);
  const select = (self: User<T> | null) => (self === null ? null : selector ? selector(self) : self);
  return useSelector(subscribe, get, select, isEqual as EqualityFn<R | User<T> | null>);
}

/** Everyone else in the room; pass a selector (and `shallow`) to re-render only when it changes. */
export function useOthers<T extends TypeConfig = TypeConfig>(): readonly User<T>[];
export function useOthers<T extends TypeConfig, R>(selector: (others: readonly User<T>[]) => R, isEqual?: EqualityFn<R>): R;
export function useOthers<T extends TypeConfig, R>(selector?: (others: readonly User<T>[]) => R, isEqual?: EqualityFn<R>): R | readonly User<T>[] {
  const room = useRoomFor<T>("useOthers");
  const subscribe = useCallback((cb: () => void) => room.events.others.subscribe(cb), [room]);
  const get = useCallback(() => room.getOthers(), [room]);
  return useSelector(subscribe, get, (selector ?? identity) as (o: readonly User<T>[]) => R, isEqual);
}

/** [my presence, update(patch)] — like React's useState, but shared with the room. */
export function useMyPresence<T extends TypeConfig = TypeConfig>(): [Readonly<Partial<T["Presence"]>>, (patch: Partial<T["Presence"]>) => void] {
  const room = useRoomFor<T>("useMyPresence");
  const subscribe = useCallback((cb: () => void) => room.events.self.subscribe(cb), [room]);
  const get = useCallback(() => room.getPresence(), [room]);
  const presence = useSyncExternalStore(subscribe, get, get);
  const update = useCallback((patch: Partial<T["Presence"]>) => room.updatePresence(patch), [room]);
  return [presence, update];
}

/** The setter alone: a component that only writes presence never re-renders because of it. */
export function useUpdateMyPresence<T extends TypeConfig = TypeConfig>(): (patch: Partial<T["Presence"]>) => void {
  const room = useRoomFor<T>("useUpdateMyPresence");
  return useCallback((patch: Partial<T["Presence"]>) => room.updatePresence(patch), [room]);
}

/** Others' cursors, interpolated, with label and colour: re-renders once per animation frame while they move. */
export function useCursors(): readonly RenderedCursor[] {
  const room = useRoomFor("useCursors");
  const subscribe = useCallback((cb: () => void) => room.events.cursors.subscribe(cb), [room]);
  const get = useCallback(() => room.getCursors(), [room]);
  return useSyncExternalStore(subscribe, get, get);
}

/** Send my pointer (throttled); null hides it. */
export function useUpdateCursor(): (point: Point | null) => void {
  const room = useRoomFor("useUpdateCursor");
  return useCallback((point: Point | null) => room.updateCursor(point), [room]);
}

/**
 * What my token lets me do in the room (null until it is known), for showing only the controls the
 * server would accept: `commentRulesFor(useMyAccess())`.
 */
export function useMyAccess(): MyAccess | null {
  const room = useRoomFor("useMyAccess");
  const subscribe = useCallback(
    (cb: () => void) => {
      const offStatus = room.events.status.subscribe(cb);
      const offSelf = room.events.self.subscribe(cb);
      return () => {
        offStatus();
        offSelf();
      };
    },
    [room],
  );
  const get = useCallback(() => room.getMyAccess(), [room]);
  return useSelector(subscribe, get, identity, shallow);
}

/** Typing indicator setter; it clears itself after a few quiet seconds. */
export function useSetTyping(): (isTyping: boolean) => void {
  const room = useRoomFor("useSetTyping");
  return useCallback((isTyping: boolean) => room.setTyping(isTyping), [room]);
}

/** Called with every error the client reports (refused tokens, lost connection, refused writes). */
export function useErrorListener(callback: (error: SyncForgeError) => void): void {
  const client = useContext(ClientContext);
  if (!client) throw new Error(missingProvider("useErrorListener", "SyncForgeProvider"));
  const latest = useRef(callback);
  latest.current = callback;
  useEffect(() => client.events.error.subscribe((error) => latest.current(error)), [client]);
}

/** A function that broadcasts a JSON event to everyone else in the room (Liveblocks' useBroadcastEvent). */
export function useBroadcastEvent(): (event: Json) => void {
  const room = useRoomFor("useBroadcastEvent");
  return useCallback((event: Json) => room.broadcast(event), [room]);
}

/** Called with every event others broadcast to the room: `{ user, connectionId, event }` (Liveblocks' useEventListener). */
export function useEventListener(callback: (message: CustomEvent) => void): void {
  const room = useRoomFor("useEventListener");
  const latest = useRef(callback);
  latest.current = callback;
  useEffect(() => room.events.customEvent.subscribe((message) => latest.current(message)), [room]);
}

/**
 * Others' selections in `text`, resolved to offsets, for drawing highlights outside an editor
 * binding. Re-renders when a selection or the text moves it, not on other presence changes.
 */
export function useSelections<T extends TypeConfig = TypeConfig>(text: Y.Text): readonly RemoteSelection<T>[] {
  const room = useRoomFor<T>("useSelections");
  const subscribe = useCallback(
    (cb: () => void) => {
      const offOthers = room.events.others.subscribe(cb);
      text.observe(cb);
      return () => {
        offOthers();
        text.unobserve(cb);
      };
    },
    [room, text],
  );
  const get = useCallback(() => room.getSelections(text), [room, text]);
  return useSelector(subscribe, get, identity, sameSelections as EqualityFn<readonly RemoteSelection<T>[]>);
}

function sameSelections(a: readonly RemoteSelection[], b: readonly RemoteSelection[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      // Who and where, not the whole user: a presence change elsewhere does not re-render highlights.
      return (
        x.user.connectionId === y.user.connectionId &&
        x.user.id === y.user.id &&
        x.user.info.name === y.user.info.name &&
        x.user.info.color === y.user.info.color &&
        x.anchor === y.anchor &&
        x.head === y.head
      );
    })
  );
}
