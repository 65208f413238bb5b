/**
 * Room permissions, as an access token grants them per room pattern (an exact room id or a prefix
 * ending in "*"; permissions only add up), and what they mean for a connection. The names are
 * Liveblocks' (room:write, room:read, room:presence:write, comments:write, comments:read). Shared by
 * the server, which mints and enforces them, and the SDK, which reads its own token.
 */

export const ROOM_PERMISSIONS = [
  "room:write",
  "room:read",
  "room:presence:write",
  "comments:write",
  "comments:read",
] as const;
export type RoomPermission = (typeof ROOM_PERMISSIONS)[number];

export function isRoomPermission(value: unknown): value is RoomPermission {
  return (ROOM_PERMISSIONS as readonly unknown[]).includes(value);
}

/** Union of the permissions every matching pattern grants for a room. */
export function permissionsForRoom(permissions: Readonly<Record<string, readonly string[]>>, roomId: string): Set<RoomPermission> {
  const granted = new Set<RoomPermission>();
  for (const [pattern, perms] of Object.entries(permissions)) {
    const matches = pattern.endsWith("*") ? roomId.startsWith(pattern.slice(0, -1)) : pattern === roomId;
    if (matches && Array.isArray(perms)) for (const p of perms) if (isRoomPermission(p)) granted.add(p);
  }
  return granted;
}

/**
 * What a connection may read of a room's document: everything (room:read or room:write), the
 * comment maps only (comments:* without room read), or nothing of it (room:presence:write alone).
 * The socket edges filter what restricted connections are sent (server/realtime/read-filter.ts).
 */
export type ReadLevel = "full" | "comments" | "presence";

export interface RoomAccess {
  canRead: boolean;
  canWrite: boolean;
  canWritePresence: boolean;
  canReadComments: boolean;
  canWriteComments: boolean;
  readLevel: ReadLevel;
}

/** What a set of permissions means for a connection (room:write implies everything else). */
export function roomAccess(perms: Set<RoomPermission>): RoomAccess {
  const canWrite = perms.has("room:write");
  const canRead = canWrite || perms.has("room:read");
  const canWriteComments = canWrite || perms.has("comments:write");
  const canReadComments = canRead || canWriteComments || perms.has("comments:read");
  return {
    canRead,
    canWrite,
    // Presence is always writable for anyone who may see the room (as Liveblocks now does).
    canWritePresence: canRead || perms.has("room:presence:write"),
    canReadComments,
    canWriteComments,
    readLevel: canRead ? "full" : canReadComments ? "comments" : "presence",
  };
}

/**
 * Whether a connection may broadcast events to its room: room:write or room:presence:write (events
 * are presence-like, as in Liveblocks). A read-only or comments-only token receives them only.
 */
export function canBroadcast(perms: Iterable<RoomPermission>): boolean {
  for (const p of perms) if (p === "room:write" || p === "room:presence:write") return true;
  return false;
}
