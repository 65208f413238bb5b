/**
 * Presence (Yjs awareness) is ours: Hocuspocus syncs documents only, and its `document.awareness`
 * stays empty. One hub per process (created by server/app.ts) holds the rooms, by document name:
 * a room is created on its first member and dropped when its last member leaves. Both socket
 * edges feed it through a SocketPresence each (socket-presence.ts); extensions/awareness.ts tells it
 * when a connection exists and when Hocuspocus has finished a document message; the comment guard
 * asks it who owns a Yjs client id. With Redis, presence-relay.ts carries states across processes.
 */
import type { Connection } from "@hocuspocus/server";
import type { RealtimeMetrics } from "../../metrics.ts";
import { stampedUser } from "../awareness.ts";
import type { MemberSettings, PresenceMember, PresenceTransport } from "./presence-member.ts";
import { PresenceRoom } from "./presence-room.ts";
import type { PresenceRelay, RelayEntry, RelayHandlers } from "./presence-relay.ts";
import { SocketPresence, type AttachContext } from "./socket-presence.ts";

export interface PresenceLimits {
  /** Bytes of JSON per client state. */
  maxStateBytes: number;
  /** Applies per second per connection; what comes in between is coalesced. */
  updatesPerSecond: number;
}

/** How long a state from another process is kept without being heard of again: y-protocols' own timeout. */
export const REMOTE_STATE_TIMEOUT_MS = 30_000;

/**
 * Room flushes sent at once per event-loop turn; the rest go out at the turn's end. Flushing every
 * update as it is applied interleaves the server's writes with its reads; at 100 rooms × 10 clients
 * that made the clients wake up and work ≈ 8 % more and raised p99 by a quarter against an
 * end-of-turn flush (docs/benchmarks.md), while on a quiet server the end-of-turn flush only adds
 * latency.
 */
export const IMMEDIATE_FLUSHES_PER_TURN = 1;

/** Counts a turn's flushes and sends the deferred ones at its end (setImmediate). */
export class TurnBatch {
  private flushes = 0;
  private readonly deferred = new Set<PresenceRoom>();
  private readonly endOfTurn = () => {
    this.flushes = 0;
    for (const room of this.deferred) room.flush();
    this.deferred.clear();
  };

  flush(room: PresenceRoom): void {
    if (this.flushes === 0) setImmediate(this.endOfTurn);
    this.flushes += 1;
    if (this.flushes <= IMMEDIATE_FLUSHES_PER_TURN) room.flush();
    else this.deferred.add(room);
  }
}

export interface PresenceHubOptions {
  limits: PresenceLimits;
  metrics: RealtimeMetrics;
  /** Builds the cross-process relay around the hub's handlers; absent without Redis. */
  relay?: (handlers: RelayHandlers) => PresenceRelay;
  /** REMOTE_STATE_TIMEOUT_MS unless set (tests shorten it). */
  remoteTimeoutMs?: number;
}

export class PresenceHub {
  readonly settings: MemberSettings;
  readonly metrics: RealtimeMetrics;
  readonly turn = new TurnBatch();
  readonly relay: PresenceRelay | null;
  private readonly rooms = new Map<string, PresenceRoom>();
  private readonly members = new WeakMap<Connection, PresenceMember>();
  /** Document messages Hocuspocus finished per connection before its member attached. */
  private readonly processedEarly = new WeakMap<Connection, number>();
  private readonly remoteTimeoutMs: number;
  private sweep: NodeJS.Timeout | null = null;
  /** Broadcast events other processes took in for a room (set by server/realtime/room-events.ts). */
  onRemoteEvent: ((documentName: string, payload: string) => void) | null = null;

  constructor(options: PresenceHubOptions) {
    this.metrics = options.metrics;
    this.settings = { ...options.limits, metrics: options.metrics };
    this.remoteTimeoutMs = options.remoteTimeoutMs ?? REMOTE_STATE_TIMEOUT_MS;
    this.relay =
      options.relay?.({
        update: (name, from, entries) => this.receiveRemote(name, from, entries),
        query: (name, from) => this.answer(name, from),
        event: (name, _from, payload) => this.onRemoteEvent?.(name, payload),
      }) ?? null;
  }

  /** The presence of one socket edge, sending to its client through `transport`. */
  socket(transport: PresenceTransport): SocketPresence {
    return new SocketPresence(this, transport);
  }

  /** A member's connection exists: it joins the document's room (created on its first member). */
  attach(member: PresenceMember, connection: Connection, context: AttachContext): void {
    const name = connection.document.name;
    let room = this.rooms.get(name);
    if (room === undefined) {
      room = new PresenceRoom(name, this);
      this.rooms.set(name, room);
      this.relay?.join(name);
    }
    this.members.set(connection, member);
    const processed = this.processedEarly.get(connection) ?? 0;
    this.processedEarly.delete(connection);
    connection.onClose(() => member.release());
    member.attach(connection, room, stampedUser(context.userId, context.userInfo), context.access?.canWritePresence ?? true, processed);
  }

  /** Hocuspocus finished one document message of `connection` (afterHandleMessage). */
  processed(connection: Connection): void {
    const member = this.members.get(connection);
    if (member === undefined) this.processedEarly.set(connection, (this.processedEarly.get(connection) ?? 0) + 1);
    else member.processedOne();
  }

  /** The user a Yjs client id belongs to in a document, as its awareness says (the comment guard's lookup). */
  ownerOf(documentName: string, clientId: number): string | undefined {
    const room = this.rooms.get(documentName);
    if (room === undefined) return undefined;
    return room.owners.get(clientId)?.user?.id ?? room.remote.get(clientId)?.userId;
  }

  /** The Yjs client id `connection` announces in its awareness (its `connectionId` for others), if any yet. */
  clientIdOf(connection: Connection): number | null {
    const owned = this.members.get(connection)?.owned;
    if (owned === undefined) return null;
    for (const clientId of owned) return clientId;
    return null;
  }

  /** Every state a document's room shows, parsed; empty when it has no member here. */
  statesOf(documentName: string): Map<number, unknown> {
    return this.rooms.get(documentName)?.states() ?? new Map();
  }

  /** Called by a room whose last member left. */
  dropRoom(room: PresenceRoom): void {
    if (this.rooms.get(room.name) !== room) return;
    room.stop();
    this.rooms.delete(room.name);
    this.relay?.leave(room.name);
    if (this.sweep !== null && ![...this.rooms.values()].some((r) => r.remote.size > 0)) this.stopSweep();
  }

  /** Stop timers and the relay; members have left by now (their sockets are closed first). */
  async close(): Promise<void> {
    for (const room of this.rooms.values()) room.stop();
    this.stopSweep();
    await this.relay?.close();
  }

  private receiveRemote(documentName: string, fromProcess: string, entries: RelayEntry[]): void {
    const room = this.rooms.get(documentName);
    if (room === undefined) return; // dropped since it subscribed
    room.receiveRemote(fromProcess, entries, Date.now());
    if (room.remote.size > 0 && this.sweep === null) {
      // Checked six times per timeout: a dead process's states go within 1.17 × the timeout.
      this.sweep = setInterval(() => this.expireRemote(), Math.max(50, this.remoteTimeoutMs / 6));
      this.sweep.unref();
    }
  }

  private answer(documentName: string, fromProcess: string): void {
    const room = this.rooms.get(documentName);
    if (room !== undefined) this.relay?.answer(fromProcess, documentName, room.localStates());
  }

  private expireRemote(): void {
    const before = Date.now() - this.remoteTimeoutMs;
    let remaining = 0;
    for (const room of this.rooms.values()) {
      if (room.remote.size === 0) continue;
      room.expireRemote(before);
      remaining += room.remote.size;
    }
    if (remaining === 0) this.stopSweep();
  }

  private stopSweep(): void {
    if (this.sweep !== null) clearInterval(this.sweep);
    this.sweep = null;
  }
}
