/**
 * Hooks for comments, the inbox and the activity feed: reads over useSyncExternalStore (with an
 * optional selector), and stable action callbacks that return the server's verdict as a promise.
 */
import { useCallback, useContext, useEffect, useMemo, useSyncExternalStore } from "react";
import type { ActivityItem, CommentData, CreateThreadInput, InboxSnapshot, ThreadData, TypeConfig } from "../core/index.ts";
import { ClientContext, RoomContext, missingProvider } from "./providers.ts";
import { useSelector, type EqualityFn } from "./use-selector.ts";
import type { Room } from "../core/index.ts";

function roomFor<T extends TypeConfig>(hook: string): Room<T> {
  const room = useContext(RoomContext);
  if (!room) throw new Error(missingProvider(hook, "RoomProvider"));
  return room as unknown as Room<T>;
}

export interface ThreadActions<T extends TypeConfig> {
  createThread(input: CreateThreadInput<T["ThreadMetadata"]>): Promise<ThreadData<T["ThreadMetadata"]>>;
  createComment(threadId: string, body: string, options?: { parentId?: string; mentions?: string[] }): Promise<CommentData>;
  editComment(commentId: string, body: string, mentions?: string[]): Promise<void>;
  deleteComment(commentId: string): Promise<void>;
  deleteThread(threadId: string): Promise<void>;
  markThreadAsResolved(threadId: string): Promise<void>;
  markThreadAsUnresolved(threadId: string): Promise<void>;
  updateThreadMetadata(threadId: string, metadata: Partial<T["ThreadMetadata"]>): Promise<void>;
  addReaction(commentId: string, emoji: string): Promise<void>;
  removeReaction(commentId: string, emoji: string): Promise<void>;
}

function useThreadActions<T extends TypeConfig>(room: Room<T>): ThreadActions<T> {
  return useMemo(() => {
    const c = room.comments;
    return {
      createThread: (input) => c.createThread(input),
      createComment: (threadId, body, options) => c.createComment(threadId, body, options),
      editComment: (id, body, mentions) => c.editComment(id, body, mentions),
      deleteComment: (id) => c.deleteComment(id),
      deleteThread: (id) => c.deleteThread(id),
      markThreadAsResolved: (id) => c.setResolved(id, true),
      markThreadAsUnresolved: (id) => c.setResolved(id, false),
      updateThreadMetadata: (id, metadata) => c.updateThreadMetadata(id, metadata),
      addReaction: (id, emoji) => c.addReaction(id, emoji),
      removeReaction: (id, emoji) => c.removeReaction(id, emoji),
    } satisfies ThreadActions<T>;
  }, [room]);
}

/** The room's threads (optionally only unresolved ones) and the actions to change them. */
export function useThreads<T extends TypeConfig = TypeConfig>(
  options: { resolved?: boolean } = {},
): { threads: readonly ThreadData<T["ThreadMetadata"]>[] } & ThreadActions<T> {
  const room = roomFor<T>("useThreads");
  const subscribe = useCallback((cb: () => void) => room.comments.changes.subscribe(cb), [room]);
  const get = useCallback(() => room.comments.getThreads(), [room]);
  const filter = options.resolved;
  const threads = useSelector(
    subscribe,
    get,
    (all) => (filter === undefined ? all : all.filter((t) => t.resolved === filter)),
    shallowArray as EqualityFn<readonly ThreadData<T["ThreadMetadata"]>[]>,
  );
  const actions = useThreadActions(room);
  return useMemo(() => ({ threads, ...actions }), [threads, actions]);
}

/** One thread's comments (re-renders only when that thread changes) and the actions. */
export function useComments<T extends TypeConfig = TypeConfig>(threadId: string): { comments: readonly CommentData[] } & ThreadActions<T> {
  const room = roomFor<T>("useComments");
  const subscribe = useCallback((cb: () => void) => room.comments.changes.subscribe(cb), [room]);
  const get = useCallback(() => room.comments.getThreads(), [room]);
  const comments = useSelector(subscribe, get, (all) => all.find((t) => t.id === threadId)?.comments ?? EMPTY, Object.is);
  const actions = useThreadActions(room);
  return useMemo(() => ({ comments, ...actions }), [comments, actions]);
}

const EMPTY: readonly CommentData[] = Object.freeze([]);

/** The signed-in user's inbox: notifications (newest first), unread count, mark read; live while mounted, with or without a room open. */
export function useNotifications(): InboxSnapshot & { markRead(id: string): Promise<void>; markAllRead(): Promise<void> } {
  const client = useContext(ClientContext);
  if (!client) throw new Error(missingProvider("useNotifications", "SyncForgeProvider"));
  const inbox = client.inbox;
  const subscribe = useCallback((cb: () => void) => inbox.subscribe(cb), [inbox]);
  const get = useCallback(() => inbox.get(), [inbox]);
  const snapshot = useSyncExternalStore(subscribe, get, get);
  useEffect(() => inbox.start(), [inbox]);
  return useMemo(
    () => ({ ...snapshot, markRead: (id: string) => inbox.markRead(id), markAllRead: () => inbox.markAllRead() }),
    [snapshot, inbox],
  );
}

/** The room's activity feed, oldest first, live. */
export function useActivity(): readonly ActivityItem[] {
  const room = roomFor("useActivity");
  const subscribe = useCallback((cb: () => void) => room.activity.subscribe(cb), [room]);
  const get = useCallback(() => room.activity.get(), [room]);
  useEffect(() => {
    room.activity.load().catch(() => undefined);
  }, [room]);
  return useSyncExternalStore(subscribe, get, get);
}

function shallowArray<X>(a: readonly X[], b: readonly X[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
