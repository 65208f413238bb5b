/**
 * Awareness at the socket edge: every awareness message a socket sends stops here, instead of going
 * through Hocuspocus' MessageReceiver (scratch Y.Doc per message, no identity, no ownership).
 *
 * Per document connection (a "channel"), the gate
 *  - keeps only entries for client ids this connection owns. A connection owns the ids it announces
 *    first, which no other connection on this document owns and which the document does not already
 *    know from elsewhere (another process, via Redis). Everything else is dropped unread: that stops
 *    a client from setting or removing another client's state, and makes y-websocket clients'
 *    echoes of remote states (they send back every update they apply) cost a few varUint reads;
 *  - parses owned states (size limit, JSON object or null; else the socket is closed and the state
 *    reaches nobody) and stamps `user` from the verified token when applying;
 *  - limits the rate: at most `updatesPerSecond` applies per connection (token bucket, burst of a
 *    tenth of a second), coalescing what arrives in between to the latest state per client id and
 *    applying it when the bucket allows (a trailing flush: the final state always goes out);
 *  - applies with Document.applyAwarenessUpdate(connection, update), so Hocuspocus records the ids
 *    against the connection (removed when it closes), broadcasts, and the Redis extension publishes.
 *
 * Ordering. Awareness does not go through Connection's message queue, where document messages wait
 * for async hooks (the update log's group commit is awaited before a document update is applied).
 * Applied at once, a cursor could reach other clients before the text it points into. So each
 * pending state remembers how many document messages its connection had sent before it, and is
 * applied only once Hocuspocus has finished that many (counted by extensions/awareness.ts in
 * afterHandleMessage). With no document traffic in flight — the usual case — it is applied at once;
 * a cursor that follows a keystroke goes out right after that keystroke. A state never waits more
 * than ORDERING_MAX_WAIT_MS, so a miscount can delay presence but not stop it.
 *
 * The Hocuspocus internals used (Document.applyAwarenessUpdate, Connection.onClose/sessionId,
 * document.awareness) are covered by test/unit/realtime/hocuspocus-internals.test.ts.
 */
import type { Connection, Document } from "@hocuspocus/server";
import {
  parseAwarenessEntry,
  readAwarenessEntries,
  stampedUser,
  writeStampedUpdate,
  type AwarenessEntry,
  type StampedUser,
} from "./awareness.ts";
import type { RealtimeMetrics } from "../metrics.ts";
import { logger } from "../logger.ts";
import { parseDocumentName } from "./document-name.ts";

export interface AwarenessLimits {
  /** Bytes of JSON per client state. */
  maxStateBytes: number;
  /** Applies per second per connection; what comes in between is coalesced. */
  updatesPerSecond: number;
}

/** A legitimate provider uses one client id per document; a little slack for re-created docs. */
export const MAX_CLIENT_IDS_PER_CONNECTION = 4;
export const ORDERING_MAX_WAIT_MS = 1000;
const LOG_EVERY_MS = 10_000;

interface Channel {
  gate: AwarenessGate;
  address: string;
  connection: Connection | null;
  document: Document | null;
  user: StampedUser | null;
  canWritePresence: boolean;
  owned: Set<number>;
  pending: Map<number, AwarenessEntry>;
  /** Document messages received for this address / processed by Hocuspocus. */
  received: number;
  processed: number;
  /** `received` when the newest pending state arrived: applied once processed catches up. */
  after: number;
  waitingSince: number;
  tokens: number;
  refilledAt: number;
  timer: NodeJS.Timeout | null;
  timerKind: "rate" | "ordering";
  throttled: number;
  loggedAt: number;
  closed: boolean;
}

/** Which channel owns each client id of a document (per process). */
const owners = new WeakMap<Document, Map<number, Channel>>();
const channelOf = new WeakMap<Connection, Channel>();
/** Document messages Hocuspocus finished per connection, counted even before the gate attaches. */
const processedBy = new WeakMap<Connection, number>();

export interface AttachContext {
  userId: string;
  userInfo: { name?: string; avatar?: string; color?: string };
  access?: { canWritePresence: boolean };
}

export class AwarenessGate {
  private readonly limits: AwarenessLimits;
  private readonly metrics: RealtimeMetrics;
  private readonly channels = new Map<string, Channel>();
  private readonly burst: number;
  private readonly intervalMs: number;

  constructor(limits: AwarenessLimits, metrics: RealtimeMetrics) {
    this.limits = limits;
    this.metrics = metrics;
    this.burst = Math.max(1, Math.ceil(limits.updatesPerSecond / 10));
    this.intervalMs = 1000 / limits.updatesPerSecond;
  }

  /**
   * An awareness update for `address` (internal raw key). Throws AwarenessRejected for an
   * oversized or malformed state; nothing of that message (or still pending) is applied then.
   */
  receive(address: string, update: Uint8Array): void {
    this.metrics.awarenessReceived.inc();
    const channel = this.channel(address);
    const entries = readAwarenessEntries(update);
    let kept = 0;
    for (const raw of entries) {
      if (!this.mayKeep(channel, raw.clientId)) continue;
      const entry = parseAwarenessEntry(raw, this.limits.maxStateBytes);
      const previous = channel.pending.get(entry.clientId);
      if (previous && previous.clock > entry.clock) continue;
      channel.pending.set(entry.clientId, entry);
      kept += 1;
    }
    if (kept === 0) return;
    if (channel.timer !== null && channel.timerKind === "rate") this.noteThrottled(channel);
    channel.after = channel.received;
    this.schedule(channel);
  }

  /** A document message (not awareness, not Auth) for `address` went to Hocuspocus (see "Ordering"). */
  countDocumentMessage(address: string): void {
    const channel = this.channels.get(address);
    if (channel) channel.received += 1;
    else this.channel(address).received = 1;
  }

  /** The Hocuspocus connection for `address` exists (extensions/awareness.ts, `connected`). */
  attach(address: string, connection: Connection, context: AttachContext): void {
    const channel = this.channel(address);
    if (channel.closed) return;
    channel.connection = connection;
    channel.document = connection.document;
    channel.user = toStampedUser(context);
    channel.canWritePresence = context.access?.canWritePresence ?? true;
    channel.processed = processedBy.get(connection) ?? 0;
    processedBy.delete(connection);
    channelOf.set(connection, channel);
    connection.onClose(() => this.release(channel));
    // Entries that arrived before the connection existed: claim what can be claimed now.
    for (const id of [...channel.pending.keys()]) {
      if (!this.claim(channel, id)) channel.pending.delete(id);
    }
    if (channel.pending.size > 0) this.schedule(channel);
  }

  /** Hocuspocus finished one document message of `connection` (afterHandleMessage). */
  static processed(connection: Connection): void {
    const channel = channelOf.get(connection);
    if (!channel) {
      processedBy.set(connection, (processedBy.get(connection) ?? 0) + 1);
      return;
    }
    channel.processed += 1;
    if (channel.pending.size === 0 || channel.processed < channel.after) return;
    if (channel.timer !== null && channel.timerKind === "ordering") {
      clearTimeout(channel.timer);
      channel.timer = null;
    }
    channel.gate.schedule(channel);
  }

  /** Forget an address (refused) or everything (socket closed). */
  forget(address?: string): void {
    if (address === undefined) {
      for (const channel of this.channels.values()) this.release(channel);
      this.channels.clear();
      return;
    }
    const channel = this.channels.get(address);
    if (channel) this.release(channel);
    this.channels.delete(address);
  }

  private channel(address: string): Channel {
    let channel = this.channels.get(address);
    if (!channel) {
      channel = {
        gate: this,
        address,
        connection: null,
        document: null,
        user: null,
        canWritePresence: true,
        owned: new Set(),
        pending: new Map(),
        received: 0,
        processed: 0,
        after: 0,
        waitingSince: 0,
        tokens: this.burst,
        refilledAt: performance.now(),
        timer: null,
        timerKind: "rate",
        throttled: 0,
        loggedAt: 0,
        closed: false,
      };
      this.channels.set(address, channel);
    }
    return channel;
  }

  /** Cheap ownership check before any parsing. */
  private mayKeep(channel: Channel, clientId: number): boolean {
    if (channel.owned.has(clientId)) return true;
    if (channel.document === null) {
      // Not attached yet: ownership is settled at attach; bound what is held meanwhile.
      if (channel.pending.has(clientId) || channel.pending.size < MAX_CLIENT_IDS_PER_CONNECTION) return true;
      this.metrics.awarenessDroppedTooMany.inc();
      return false;
    }
    return this.claim(channel, clientId);
  }

  private claim(channel: Channel, clientId: number): boolean {
    if (channel.owned.has(clientId)) return true;
    const document = channel.document!;
    let byId = owners.get(document);
    if (!byId) {
      byId = new Map();
      owners.set(document, byId);
    }
    const owner = byId.get(clientId);
    if ((owner && owner !== channel) || document.awareness.getStates().has(clientId)) {
      this.metrics.awarenessDroppedNotOwner.inc();
      return false;
    }
    if (channel.owned.size >= MAX_CLIENT_IDS_PER_CONNECTION) {
      this.metrics.awarenessDroppedTooMany.inc();
      return false;
    }
    byId.set(clientId, channel);
    channel.owned.add(clientId);
    return true;
  }

  private schedule(channel: Channel): void {
    if (channel.connection === null || channel.closed || channel.timer !== null) return;
    const now = performance.now();
    if (channel.processed < channel.after) {
      // Ordering: wait for the document messages sent before this state (bounded).
      if (channel.waitingSince === 0) channel.waitingSince = now;
      const left = ORDERING_MAX_WAIT_MS - (now - channel.waitingSince);
      if (left > 0) {
        channel.timer = setTimeout(() => this.onTimer(channel, true), left);
        channel.timerKind = "ordering";
        return;
      }
    }
    channel.tokens = Math.min(this.burst, channel.tokens + (now - channel.refilledAt) / this.intervalMs);
    channel.refilledAt = now;
    if (channel.tokens >= 1) {
      channel.tokens -= 1;
      this.apply(channel);
      return;
    }
    this.noteThrottled(channel);
    channel.timer = setTimeout(() => this.onTimer(channel, false), Math.ceil((1 - channel.tokens) * this.intervalMs));
    channel.timerKind = "rate";
  }

  private onTimer(channel: Channel, ordering: boolean): void {
    channel.timer = null;
    if (ordering && channel.processed < channel.after) channel.after = channel.processed; // waited long enough
    this.schedule(channel);
  }

  private apply(channel: Channel): void {
    channel.waitingSince = 0;
    if (channel.pending.size === 0 || !channel.connection || !channel.document || !channel.user) return;
    const update = writeStampedUpdate(channel.pending.values(), channel.pending.size, channel.user, channel.canWritePresence);
    channel.pending.clear();
    this.metrics.awarenessApplied.inc();
    channel.document.applyAwarenessUpdate(channel.connection, update);
  }

  private noteThrottled(channel: Channel): void {
    channel.throttled += 1;
    this.metrics.awarenessThrottled.inc();
    const now = Date.now();
    if (now - channel.loggedAt >= LOG_EVERY_MS) {
      const room = parseDocumentName(channel.address.split("\u0000")[0]!);
      logger.warn("Throttling awareness updates of a connection", {
        orgId: room?.orgId,
        roomId: room?.roomId,
        limitPerSecond: this.limits.updatesPerSecond,
        throttledSinceLastLog: channel.throttled,
      });
      channel.loggedAt = now;
      channel.throttled = 0;
    }
  }

  private release(channel: Channel): void {
    if (channel.closed) return;
    channel.closed = true;
    if (channel.timer) clearTimeout(channel.timer);
    channel.timer = null;
    channel.pending.clear();
    const byId = channel.document ? owners.get(channel.document) : undefined;
    if (byId) for (const id of channel.owned) if (byId.get(id) === channel) byId.delete(id);
    this.channels.delete(channel.address);
  }
}

function toStampedUser(context: AttachContext): StampedUser {
  return stampedUser(context.userId, context.userInfo);
}
