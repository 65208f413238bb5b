/**
 * Who is in a room: users and how many connections each has open (a user with three tabs is one
 * user with three connections), and the moments a user enters (first connection, across every
 * server process) and leaves (last connection gone).
 *
 * The counts live in memory for a single process, or in Redis (redis-presence-store.ts) when
 * several processes share rooms; the Redis store keeps per-process entries that disappear with
 * their process. `events` fires `userEntered` / `userLeft` once per transition, in the process
 * that made it (or, for a dead process's users, in the process that reaped them), for in-process
 * subscribers: activity feed, webhooks.
 */
import { makeEventSource, type Observable } from "../event-source.ts";
import { logger } from "../../logger.ts";

export interface RoomRef {
  orgId: string;
  roomId: string;
}

/** The public part of a user's token info (UserInfo), as shown to others. */
export type PresenceInfo = Record<string, unknown>;

export interface ActiveUser {
  id: string;
  info: PresenceInfo;
  connections: number;
}

export interface PresenceEvent extends RoomRef {
  type: "userEntered" | "userLeft";
  userId: string;
  info: PresenceInfo;
  at: Date;
}

/** Where the counts live. `join` answers whether this was the user's first connection anywhere. */
export interface PresenceStore {
  join(room: RoomRef, userId: string, info: PresenceInfo): Promise<boolean>;
  /** Answers whether this was the user's last connection anywhere (then with the info it had). */
  leave(room: RoomRef, userId: string): Promise<{ left: boolean; info: PresenceInfo }>;
  list(room: RoomRef): Promise<ActiveUser[]>;
  /** Connections to the room held by live processes other than this one (0 for one process). */
  connectionsElsewhere(room: RoomRef): Promise<number>;
  close(): Promise<void>;
}

export class PresenceService {
  private readonly store: PresenceStore;
  private readonly source = makeEventSource<PresenceEvent>((error) =>
    logger.error("A presence event listener failed", { error: (error as Error)?.message }),
  );
  readonly events: Observable<PresenceEvent> = this.source;

  constructor(store: PresenceStore) {
    this.store = store;
  }

  /** A connection of `userId` opened the room. */
  async connected(room: RoomRef, userId: string, info: PresenceInfo): Promise<void> {
    if (await this.store.join(room, userId, info)) this.emit("userEntered", room, userId, info);
  }

  /** A connection of `userId` closed. */
  async disconnected(room: RoomRef, userId: string): Promise<void> {
    const { left, info } = await this.store.leave(room, userId);
    if (left) this.emit("userLeft", room, userId, info);
  }

  /** Users with at least one open connection, across every process, ordered by id. */
  async activeUsers(room: RoomRef): Promise<ActiveUser[]> {
    const users = await this.store.list(room);
    return users.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Connections other processes hold to the room, so a room's maxParticipants counts every
   * process (authorize-connection.ts adds this process's own, which it knows without a round trip).
   */
  connectionsElsewhere(room: RoomRef): Promise<number> {
    return this.store.connectionsElsewhere(room);
  }

  /** For stores that discover departures themselves (a dead process's users). */
  emit(type: PresenceEvent["type"], room: RoomRef, userId: string, info: PresenceInfo): void {
    this.source.notify({ type, orgId: room.orgId, roomId: room.roomId, userId, info, at: new Date() });
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Single-process counts. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly rooms = new Map<string, Map<string, { count: number; info: PresenceInfo }>>();

  async join(room: RoomRef, userId: string, info: PresenceInfo): Promise<boolean> {
    const key = roomKey(room);
    let users = this.rooms.get(key);
    if (!users) this.rooms.set(key, (users = new Map()));
    const entry = users.get(userId);
    if (entry) {
      entry.count += 1;
      entry.info = info;
      return false;
    }
    users.set(userId, { count: 1, info });
    return true;
  }

  async leave(room: RoomRef, userId: string): Promise<{ left: boolean; info: PresenceInfo }> {
    const key = roomKey(room);
    const users = this.rooms.get(key);
    const entry = users?.get(userId);
    if (!users || !entry) return { left: false, info: {} };
    entry.count -= 1;
    if (entry.count > 0) return { left: false, info: entry.info };
    users.delete(userId);
    if (users.size === 0) this.rooms.delete(key);
    return { left: true, info: entry.info };
  }

  async list(room: RoomRef): Promise<ActiveUser[]> {
    const users = this.rooms.get(roomKey(room));
    return users ? [...users].map(([id, e]) => ({ id, info: e.info, connections: e.count })) : [];
  }

  async connectionsElsewhere(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.rooms.clear();
  }
}

export function roomKey(room: RoomRef): string {
  return `${room.orgId}/${room.roomId}`;
}
