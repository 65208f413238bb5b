/**
 * @syncforge/react — providers and hooks over @syncforge/client. See docs/sdk.md.
 *
 * For typed hooks, call createRoomContext<MyTypes>() once and use what it returns; the plain
 * exports are the same hooks with the default (untyped JSON) types.
 */
import type { TypeConfig } from "../core/index.ts";
import { RoomProvider, SyncForgeProvider } from "./providers.ts";
import * as hooks from "./hooks.ts";
import * as comments from "./comment-hooks.ts";

export { SyncForgeProvider, RoomProvider, missingProvider } from "./providers.ts";
export type { SyncForgeProviderProps, RoomProviderProps } from "./providers.ts";
export {
  useClient,
  useRoom,
  useStatus,
  useSelf,
  useOthers,
  useMyPresence,
  useUpdateMyPresence,
  useCursors,
  useUpdateCursor,
  useSetTyping,
  useSelections,
  useErrorListener,
  useBroadcastEvent,
  useEventListener,
  useMyAccess,
} from "./hooks.ts";
export { useThreads, useComments, useNotifications, useActivity } from "./comment-hooks.ts";
export { useSelector, shallow } from "./use-selector.ts";
export type { Selector, EqualityFn } from "./use-selector.ts";

/** The providers and hooks typed with the app's Presence, UserInfo and ThreadMetadata. */
export function createRoomContext<T extends TypeConfig>() {
  return {
    SyncForgeProvider: SyncForgeProvider<T>,
    RoomProvider: RoomProvider<T>,
    useClient: hooks.useClient<T>,
    useRoom: hooks.useRoom<T>,
    useStatus: hooks.useStatus,
    useSelf: hooks.useSelf as {
      (): hooks.UserOf<T> | null;
      <R>(selector: (self: hooks.UserOf<T>) => R, isEqual?: (a: R | null, b: R | null) => boolean): R | null;
    },
    useOthers: hooks.useOthers as {
      (): readonly hooks.UserOf<T>[];
      <R>(selector: (others: readonly hooks.UserOf<T>[]) => R, isEqual?: (a: R, b: R) => boolean): R;
    },
    useMyPresence: hooks.useMyPresence<T>,
    useUpdateMyPresence: hooks.useUpdateMyPresence<T>,
    useCursors: hooks.useCursors,
    useUpdateCursor: hooks.useUpdateCursor,
    useSetTyping: hooks.useSetTyping,
    useMyAccess: hooks.useMyAccess,
    useSelections: hooks.useSelections<T>,
    useErrorListener: hooks.useErrorListener,
    useBroadcastEvent: hooks.useBroadcastEvent,
    useEventListener: hooks.useEventListener,
    useThreads: comments.useThreads<T>,
    useComments: comments.useComments<T>,
    useNotifications: comments.useNotifications,
    useActivity: comments.useActivity,
  };
}
