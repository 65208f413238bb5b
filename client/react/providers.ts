/**
 * <SyncForgeProvider client={client}> makes a client available to hooks; <RoomProvider id="…">
 * enters a room for its subtree and leaves it on unmount. JSX-free (createElement) so the package
 * runs under Node's type stripping as well as in Vite.
 */
import { createContext, createElement, useContext, useEffect, useState, type ReactNode } from "react";
import type { Client, Room, TypeConfig } from "../core/index.ts";

export const ClientContext = createContext<Client<TypeConfig> | null>(null);
export const RoomContext = createContext<Room<TypeConfig> | null>(null);

export interface SyncForgeProviderProps<T extends TypeConfig = TypeConfig> {
  client: Client<T>;
  children?: ReactNode;
}

export function SyncForgeProvider<T extends TypeConfig = TypeConfig>({ client, children }: SyncForgeProviderProps<T>): ReactNode {
  return createElement(ClientContext.Provider, { value: client as unknown as Client<TypeConfig> }, children);
}

export interface RoomProviderProps<T extends TypeConfig = TypeConfig> {
  id: string;
  initialPresence?: Partial<T["Presence"]>;
  /** Shown until the room is entered (one commit); null by default. */
  fallback?: ReactNode;
  children?: ReactNode;
}

export function RoomProvider<T extends TypeConfig = TypeConfig>({ id, initialPresence, fallback = null, children }: RoomProviderProps<T>): ReactNode {
  const client = useContext(ClientContext);
  if (!client) throw new Error(missingProvider("RoomProvider", "SyncForgeProvider"));
  const [room, setRoom] = useState<Room<TypeConfig> | null>(null);

  useEffect(() => {
    let entered = client.enterRoom(id, { initialPresence: initialPresence as Partial<TypeConfig["Presence"]> });
    let offError = () => {};
    let cancelled = false;
    const watch = () => {
      offError();
      offError = entered.events.error.subscribe(() => {
        if (!entered.needsResync() || cancelled) return;
        // The server refused a write: re-enter for a fresh copy of the document (after the event
        // that reported it). Components get the new room through context; editor bindings that
        // depend on `room` re-bind to its doc.
        const stopped = entered;
        setTimeout(() => {
          if (cancelled || entered !== stopped) return;
          entered = client.enterRoom(id, { initialPresence: stopped.getPresence() as Partial<TypeConfig["Presence"]> });
          stopped.leave();
          watch();
          setRoom(entered);
        }, 0);
      });
    };
    watch();
    setRoom(entered);
    // Leave on the next tick: React's StrictMode unmounts and remounts at once, and the re-entry
    // should find the same room instead of reconnecting.
    return () => {
      cancelled = true;
      offError();
      const leaving = entered;
      setTimeout(() => leaving.leave(), 0);
    };
    // initialPresence only matters when entering, like Liveblocks'.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, id]);

  if (!room || room.id !== id) return fallback;
  return createElement(RoomContext.Provider, { value: room }, children);
}

/** The message a hook throws outside its provider: what is missing and how to add it. */
export function missingProvider(hook: string, provider: "SyncForgeProvider" | "RoomProvider"): string {
  const example =
    provider === "RoomProvider"
      ? `<SyncForgeProvider client={client}><RoomProvider id="my-room">…</RoomProvider></SyncForgeProvider>`
      : `<SyncForgeProvider client={createClient({ url, authEndpoint })}>…</SyncForgeProvider>`;
  return `${hook} must be used inside <${provider}>. Wrap the component that calls it: ${example}`;
}
