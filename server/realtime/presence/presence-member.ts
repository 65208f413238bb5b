/**
 * One member of a room's presence: a document connection (one address on one socket) and the
 * pipeline each of its awareness messages takes before it reaches the room.
 *
 *  - Ownership: entries for client ids the member does not own, and cannot claim from its room
 *    (presence-room.ts), are dropped unread. That stops a client from setting or removing another
 *    client's state, and makes y-websocket clients' echoes of remote states (they send back every
 *    update they apply) cost a few varUint reads.
 *  - Owned states are parsed (size limit, JSON object or null; else AwarenessRejected closes the
 *    socket and the state reaches nobody) and stamped with `user` from the verified token.
 *  - Rate: at most `updatesPerSecond` applies per member (token bucket, burst of a tenth of a
 *    second), coalescing what arrives in between to the latest state per client id and applying it
 *    when the bucket allows (a trailing flush: the final state always goes out).
 *  - Renewals: every provider re-sends its unchanged state every 15 s so that peers, which drop a
 *    state not heard of for 30 s, keep it. A state byte-for-byte the same as the member's last
 *    applied one is not parsed or rate-limited: its new clock waits for the room's renewal batch.
 *  - Ordering: awareness does not go through Hocuspocus' per-connection message queue, where
 *    document messages wait for async hooks (the update log's group commit is awaited before an
 *    update is applied). Applied at once, a cursor could reach other clients before the text it
 *    points into. So a pending state remembers how many document messages its member had sent
 *    before it, and is applied only once Hocuspocus has finished that many (counted in its public
 *    afterHandleMessage hook, extensions/awareness.ts). With no document traffic in flight — the
 *    usual case — it is applied at once. It never waits more than ORDERING_MAX_WAIT_MS, so a
 *    miscount can delay presence but not stop it.
 */
import type { Connection } from "@hocuspocus/server";
import { parseAwarenessEntry, readAwarenessEntries, stampState, type AwarenessEntry, type RawAwarenessEntry, type StampedUser } from "../awareness.ts";
import type { RealtimeMetrics } from "../../metrics.ts";
import { logger } from "../../logger.ts";
import { clientAddressOf, parseDocumentName } from "../../../protocol/document-name.ts";
import type { PresenceRoom } from "./presence-room.ts";
import { deleteEntry, EMPTY_MAP, setEntry } from "../empty-maps.ts";

/** A legitimate provider uses one client id per document; a little slack for re-created docs. */
export const MAX_CLIENT_IDS_PER_CONNECTION = 4;
export const ORDERING_MAX_WAIT_MS = 1000;
const LOG_EVERY_MS = 10_000;

/**
 * How a member's socket takes presence messages: /collab whole messages
 * (`varString(clientAddress) · 1 · varUint8Array(update)`), /yjs the body only (no address).
 */
export interface PresenceTransport {
  send(bytes: Uint8Array): void;
  readonly bodyOnly: boolean;
}

/** What every member of a hub shares: limits, metrics. */
export interface MemberSettings {
  maxStateBytes: number;
  updatesPerSecond: number;
  metrics: RealtimeMetrics;
}

/**
 * A client id's last kept state: its bytes, in a buffer reused while they fit, and the stamped JSON
 * and clock last applied. Updated in place, never replaced per update: V8 pretenured the object a
 * per-update record allocated (its allocation site saw high survival while clients connected), so
 * each one was born in old space and kept young garbage alive through every scavenge
 * (docs/benchmarks.md, "No pretenured garbage").
 */
export class LastState {
  private bytes: Uint8Array;
  private length: number;
  /** The stamped JSON last applied (what the room shows), null before the first apply. */
  json: string | null = null;
  clock = 0;
  /** Whether the kept bytes are the ones applied (a renewal must match an applied state). */
  applied = false;
  /**
   * The clock of a renewal waiting for the room's renewal batch, −1 for none. Here rather than in a
   * map of the member's: every member renews every 15 s, and a map per member was ≈ 180 bytes of
   * every idle connection.
   */
  renewal = -1;

  constructor(raw: Uint8Array) {
    this.bytes = raw.slice();
    this.length = raw.length;
  }

  keep(raw: Uint8Array): void {
    // Headroom: a moving pointer changes a state's length by a few bytes.
    if (raw.length > this.bytes.length) this.bytes = new Uint8Array(raw.length + 32);
    this.bytes.set(raw);
    this.length = raw.length;
    this.applied = false;
    // A new state replaces a renewal of the old one still waiting for its batch.
    this.renewal = -1;
  }

  sameAs(raw: Uint8Array): boolean {
    if (raw.length !== this.length) return false;
    const bytes = this.bytes;
    for (let i = 0; i < raw.length; i++) if (raw[i] !== bytes[i]) return false;
    return true;
  }
}

export class PresenceMember {
  /** Internal address: document name, or name\0session. */
  readonly address: string;
  readonly transport: PresenceTransport;
  /** The address the client knows the room by (plain room id, or id\0session). */
  clientAddress = "";
  connection: Connection | null = null;
  room: PresenceRoom | null = null;
  user: StampedUser | null = null;
  canWritePresence = true;
  readonly owned = new Set<number>();
  /** States waiting to be applied (rate, ordering); the shared empty map between them (empty-maps.ts). */
  pending: ReadonlyMap<number, AwarenessEntry> = EMPTY_MAP;
  readonly last = new Map<number, LastState>();
  /** Document messages received for this address / processed by Hocuspocus. */
  received = 0;
  processed = 0;
  closed = false;
  private readonly settings: MemberSettings;
  private readonly released: (member: PresenceMember) => void;
  private readonly burst: number;
  private readonly intervalMs: number;
  /** `received` when the newest pending state arrived: applied once processed catches up. */
  private after = 0;
  private waitingSince = 0;
  private tokens: number;
  private refilledAt = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private timerKind: "rate" | "ordering" = "rate";
  private throttled = 0;
  private loggedAt = 0;

  constructor(address: string, transport: PresenceTransport, settings: MemberSettings, released: (member: PresenceMember) => void) {
    this.address = address;
    this.transport = transport;
    this.settings = settings;
    this.released = released;
    this.burst = Math.max(1, Math.ceil(settings.updatesPerSecond / 10));
    this.intervalMs = 1000 / settings.updatesPerSecond;
    this.tokens = this.burst;
  }

  /** An awareness update from the client. Throws AwarenessRejected for an oversized or malformed state. */
  receive(update: Uint8Array): void {
    this.settings.metrics.awarenessReceived.inc();
    const entries = readAwarenessEntries(update);
    let kept = 0;
    for (const raw of entries) {
      if (!this.mayKeep(raw.clientId)) continue;
      if (this.renewal(raw)) continue;
      const entry = parseAwarenessEntry(raw, this.settings.maxStateBytes);
      const previous = this.pending.get(entry.clientId);
      if (previous && previous.clock > entry.clock) continue;
      this.pending = setEntry(this.pending, entry.clientId, entry);
      const last = this.last.get(entry.clientId);
      if (last) last.keep(raw.raw);
      else if (entry.state !== null) this.last.set(entry.clientId, new LastState(raw.raw));
      kept += 1;
    }
    if (kept === 0) return;
    if (this.timer !== null && this.timerKind === "rate") this.noteThrottled();
    this.after = this.received;
    this.schedule();
  }

  /** The member's connection exists: join `room` and claim what arrived before. */
  attach(connection: Connection, room: PresenceRoom, user: StampedUser, canWritePresence: boolean, processed: number): void {
    this.connection = connection;
    this.room = room;
    this.user = user;
    this.canWritePresence = canWritePresence;
    this.processed = processed;
    this.clientAddress = clientAddressOf(room.name) + this.address.slice(room.name.length);
    room.join(this);
    for (const id of [...this.pending.keys()]) {
      if (room.claim(this, id)) continue;
      this.pending = deleteEntry(this.pending, id);
      this.last.delete(id);
    }
    if (this.pending.size > 0) this.schedule();
  }

  /** Hocuspocus finished one of this member's document messages. */
  processedOne(): void {
    this.processed += 1;
    if (this.pending.size === 0 || this.processed < this.after) return;
    if (this.timer !== null && this.timerKind === "ordering") {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.schedule();
  }

  /** Leave: the room removes this member's states and tells the others. Idempotent. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = EMPTY_MAP;
    this.room?.leave(this);
    this.last.clear();
    this.owned.clear();
    this.released(this);
  }

  /** Cheap ownership check before any parsing. */
  private mayKeep(clientId: number): boolean {
    if (this.owned.has(clientId)) return true;
    if (this.room === null) {
      // Not attached yet: ownership is settled at attach; bound what is held meanwhile.
      if (this.pending.has(clientId) || this.pending.size < MAX_CLIENT_IDS_PER_CONNECTION) return true;
      this.settings.metrics.awarenessDroppedTooMany.inc();
      return false;
    }
    return this.room.claim(this, clientId);
  }

  /** Whether `raw` only renews the state last applied for its client id; if so it joins the room's renewal batch. */
  private renewal(raw: RawAwarenessEntry): boolean {
    const last = this.last.get(raw.clientId);
    if (last === undefined || !last.applied || this.room === null || this.pending.has(raw.clientId) || !last.sameAs(raw.raw)) return false;
    if (last.renewal < raw.clock) last.renewal = raw.clock;
    this.room.renewLater(this);
    return true;
  }

  private schedule(): void {
    if (this.room === null || this.closed || this.timer !== null) return;
    const now = performance.now();
    if (this.processed < this.after) {
      // Ordering: wait for the document messages sent before this state (bounded).
      if (this.waitingSince === 0) this.waitingSince = now;
      const left = ORDERING_MAX_WAIT_MS - (now - this.waitingSince);
      if (left > 0) {
        this.timer = setTimeout(() => this.onTimer(true), left);
        this.timerKind = "ordering";
        return;
      }
    }
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) / this.intervalMs);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.apply();
      return;
    }
    this.noteThrottled();
    this.timer = setTimeout(() => this.onTimer(false), Math.ceil((1 - this.tokens) * this.intervalMs));
    this.timerKind = "rate";
  }

  private onTimer(ordering: boolean): void {
    this.timer = null;
    if (ordering && this.processed < this.after) this.after = this.processed; // waited long enough
    this.schedule();
  }

  /** Stamp the pending states and hand them to the room, which broadcasts them. */
  private apply(): void {
    this.waitingSince = 0;
    const room = this.room;
    const user = this.user;
    if (this.pending.size === 0 || room === null || user === null) return;
    this.settings.metrics.awarenessApplied.inc();
    room.prepareChange(this.pending.keys());
    for (const entry of this.pending.values()) {
      const json = stampState(entry.state, user, this.canWritePresence);
      room.add(this, entry.clientId, entry.clock, json, user.id, true);
      const last = this.last.get(entry.clientId);
      if (entry.state === null) this.last.delete(entry.clientId);
      else if (last) {
        last.json = json;
        last.clock = entry.clock;
        last.applied = true;
      }
    }
    this.pending = EMPTY_MAP;
    room.changed();
  }

  private noteThrottled(): void {
    this.throttled += 1;
    this.settings.metrics.awarenessThrottled.inc();
    const now = Date.now();
    if (now - this.loggedAt < LOG_EVERY_MS) return;
    const room = parseDocumentName(this.address.split("\u0000")[0]!);
    logger.warn("Throttling awareness updates of a connection", {
      orgId: room?.orgId,
      roomId: room?.roomId,
      limitPerSecond: this.settings.updatesPerSecond,
      throttledSinceLastLog: this.throttled,
    });
    this.loggedAt = now;
    this.throttled = 0;
  }
}
