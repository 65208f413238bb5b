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
 *    against the connection (removed when it closes), broadcasts, and the Redis extension publishes;
 *  - batches renewals. Every provider re-sends its unchanged state every 15 s so that peers, which
 *    drop a state not heard of for 30 s, keep it; in a room of n clients that is n²/15 sends a
 *    second carrying nothing new (in a room of 200, a quarter of all it sends when two of them
 *    move a pointer at 20 Hz). A state byte-for-byte the same as the connection's last one is not
 *    parsed or rate-limited: its new clock waits, with the other renewals of the room, for the
 *    room's next renewal flush (RENEWAL_BATCH_MS), which applies them all in one turn, so
 *    Hocuspocus broadcasts them as one message. A renewal then arrives at most a second later,
 *    well inside the 30 s timeout, and a real change in between supersedes it. A change of any
 *    other client of the room takes the waiting renewals along in its broadcast (renewAlong).
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
 * The Hocuspocus internals used (Document.applyAwarenessUpdate, Document.flush and its private
 * pendingAwarenessClients, pendingUpdates, cancelFlush and connections, Connection.onClose/sessionId/
 * webSocket, document.awareness) are covered by test/unit/realtime/awareness-internals.test.ts.
 */
import { OutgoingMessage, type Connection, type Document } from "@hocuspocus/server";
import {
  parseAwarenessEntry,
  readAwarenessEntries,
  stampEntries,
  stampedUser,
  writeAwarenessUpdate,
  type AwarenessEntry,
  type RawAwarenessEntry,
  type StampedEntry,
  type StampedUser,
} from "./awareness.ts";
import type { RealtimeMetrics } from "../metrics.ts";
import { logger } from "../logger.ts";
import { framesDirectly, sendBinary, writeBroadcast } from "./broadcast-frame.ts";
import type { WebSocket } from "ws";
import { parseDocumentName } from "../../protocol/document-name.ts";

export interface AwarenessLimits {
  /** Bytes of JSON per client state. */
  maxStateBytes: number;
  /** Applies per second per connection; what comes in between is coalesced. */
  updatesPerSecond: number;
}

/** A legitimate provider uses one client id per document; a little slack for re-created docs. */
export const MAX_CLIENT_IDS_PER_CONNECTION = 4;
export const ORDERING_MAX_WAIT_MS = 1000;
/** How long a renewal (an unchanged state with a new clock) may wait to share a broadcast. */
export const RENEWAL_BATCH_MS = 1000;
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
  /** Per owned client id: the raw state last kept and, once applied, its stamped JSON. */
  last: Map<number, LastState>;
  /** Renewals waiting for the room's renewal flush: client id → clock. */
  renewals: Map<number, number>;
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

/**
 * A client id's last kept state: its bytes, in a buffer reused while they fit, and, once applied,
 * its stamped JSON. Updated in place, never replaced per update: V8 pretenured the `{ raw, json }`
 * object this used to allocate for every update (its allocation site saw high survival while
 * clients connected), so each one was born in old space and, dead 50 ms later, kept the young bytes
 * and JSON it pointed to alive through every scavenge until the next full GC — 0.6–0.9 MB promoted
 * per scavenge at 20 rooms × 10 clients, 3–6 ms pauses (docs/benchmarks.md).
 */
class LastState {
  private bytes: Uint8Array;
  private length: number;
  json: string | null = null;

  constructor(raw: Uint8Array) {
    this.bytes = raw.slice();
    this.length = raw.length;
  }

  keep(raw: Uint8Array): void {
    // Headroom: a moving pointer changes a state's length by a few bytes.
    if (raw.length > this.bytes.length) this.bytes = new Uint8Array(raw.length + 32);
    this.bytes.set(raw);
    this.length = raw.length;
    this.json = null;
  }

  sameAs(raw: Uint8Array): boolean {
    if (raw.length !== this.length) return false;
    const bytes = this.bytes;
    for (let i = 0; i < raw.length; i++) if (raw[i] !== bytes[i]) return false;
    return true;
  }
}

/** Which channel owns each client id of a document (per process). */
const owners = new WeakMap<Document, Map<number, Channel>>();
const channelOf = new WeakMap<Connection, Channel>();
/** Document messages Hocuspocus finished per connection, counted even before the gate attaches. */
const processedBy = new WeakMap<Connection, number>();
/**
 * Awareness updates flushed at once per event-loop turn. Flushing every update as it is applied
 * interleaves the server's writes with its reads; at 100 rooms × 10 clients that made the clients
 * wake up and work ≈ 8 % more and raised p99 by a quarter against Hocuspocus' end-of-turn flush
 * (docs/benchmarks.md), while on a quiet server the end-of-turn flush only adds latency.
 */
export const IMMEDIATE_FLUSHES_PER_TURN = 1;
let immediateFlushes = 0;
/** Documents whose flush waits for the end of the turn, with the one channel that changed them (null: several). */
const deferredFlushes = new Map<Document, Channel | null>();

function takeImmediateFlush(): boolean {
  // Queued before any flush Hocuspocus schedules this turn, so it runs first and theirs finds nothing.
  if (immediateFlushes === 0) setImmediate(endOfTurn);
  immediateFlushes += 1;
  return immediateFlushes <= IMMEDIATE_FLUSHES_PER_TURN;
}

function deferFlush(document: Document, channel: Channel): void {
  const origin = deferredFlushes.get(document);
  deferredFlushes.set(document, origin === undefined || origin === channel ? channel : null);
}

function endOfTurn(): void {
  immediateFlushes = 0;
  for (const [document, channel] of deferredFlushes) flushAwareness(document, channel);
  deferredFlushes.clear();
}

/**
 * Broadcast what Hocuspocus holds for `document`, skipping the sender when it is all the sender's.
 *
 * With only awareness waiting (the usual case) the broadcast is ours (broadcastAwareness): one
 * message per message address, its frame written straight onto each connection's WebSocket, rather
 * than Document.flush() → Connection.send → the edge's general `send`, which for every one of a
 * room's sockets checks the ready state twice and re-reads the message's address and type to
 * recognise an echo. With document updates waiting too, Document.flush() sends both, updates first.
 */
function flushAwareness(document: Document, channel: Channel | null): void {
  const internals = document as unknown as DocumentInternals;
  const pending = internals.pendingAwarenessClients;
  const connection = channel?.connection ?? null;
  const sender = channel && connection && !channel.closed && carriesOnly(document, channel.owned) ? connection : null;
  if (internals.pendingUpdates.length === 0 && pending instanceof Set) {
    if (pending.size === 0) return;
    if (internals.cancelFlush !== null) {
      internals.cancelFlush();
      internals.cancelFlush = null;
    }
    const clients = Array.from(pending);
    pending.clear();
    broadcastAwareness(document, internals.connections, clients, sender);
    return;
  }
  echoTarget = sender ? { gate: channel!.gate, address: sender.messageAddress } : null;
  try {
    document.flush();
  } finally {
    echoTarget = null;
  }
}

/** The private parts of Hocuspocus' Document that flushAwareness reads (pinned by test/unit/realtime/awareness-internals.test.ts). */
interface DocumentInternals {
  connections: Map<Connection, unknown>;
  pendingUpdates: Uint8Array[];
  pendingAwarenessClients: Set<number>;
  cancelFlush: (() => void) | null;
}

/** A socket edge whose WebSocket the fan-out writes to (CollabSocket, YwsSocket). */
export interface BroadcastTarget {
  /** Its WebSocket, and whether it takes a message's body only (y-websocket: no address). */
  broadcastTarget(): { ws: WebSocket; bodyOnly: boolean };
}

/**
 * A document's connections as flat arrays, for the fan-out loop: what it needs of each connection
 * (its address, its WebSocket, whether it takes the body only) read once, not from the connection
 * and its socket edge on every broadcast — after each socket's system call, every object the loop
 * reads is a cache miss, and those reads were most of the loop's time (perf annotate: the loads of
 * the connection, its edge and the edge's writer). Rebuilt when the connections change, which the
 * loop checks by comparing the Map's keys with `connections` (pointers only).
 */
interface Fanout {
  connections: Connection[];
  addresses: string[];
  /** The connection's WebSocket, or null when its socket is not one of our edges (Connection.send). */
  sockets: Array<WebSocket | null>;
  bodyOnly: boolean[];
  /** Whether the frame may be written beneath ws (writeBroadcast) rather than through it (sendBinary). */
  direct: boolean[];
}

const fanouts = new WeakMap<Document, Fanout>();

function fanoutOf(document: Document, connections: Map<Connection, unknown>): Fanout {
  const cached = fanouts.get(document);
  if (cached !== undefined && cached.connections.length === connections.size) {
    let i = 0;
    let same = true;
    for (const connection of connections.keys()) {
      if (connection !== cached.connections[i++]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const fanout: Fanout = { connections: [], addresses: [], sockets: [], bodyOnly: [], direct: [] };
  for (const connection of connections.keys()) {
    const edge = connection.webSocket as unknown as Partial<BroadcastTarget>;
    const target = typeof edge.broadcastTarget === "function" ? edge.broadcastTarget() : null;
    fanout.connections.push(connection);
    fanout.addresses.push(connection.messageAddress);
    fanout.sockets.push(target?.ws ?? null);
    fanout.bodyOnly.push(target?.bodyOnly ?? false);
    fanout.direct.push(target !== null && framesDirectly(target.ws));
  }
  fanouts.set(document, fanout);
  return fanout;
}

/** Send `clients`' awareness states to every connection of `document` but `skip`. */
function broadcastAwareness(document: Document, connections: Map<Connection, unknown>, clients: number[], skip: Connection | null): void {
  const fanout = fanoutOf(document, connections);
  const { addresses, sockets, bodyOnly, direct } = fanout;
  const members = fanout.connections;
  let address: string | null = null;
  let message: Uint8Array | null = null;
  let bodyStart = 0;
  for (let i = 0; i < members.length; i++) {
    const connection = members[i]!;
    if (connection === skip) continue;
    const connectionAddress = addresses[i]!;
    if (message === null || connectionAddress !== address) {
      address = connectionAddress;
      message = new OutgoingMessage(address).createAwarenessUpdateMessage(document.awareness, clients).toUint8Array();
      bodyStart = varStringLength(address);
    }
    const ws = sockets[i]!;
    if (ws === null) {
      connection.send(message);
      continue;
    }
    try {
      if (direct[i]) writeBroadcast(ws, message, bodyOnly[i] ? bodyStart : 0);
      else sendBinary(ws, message, bodyOnly[i] ? bodyStart : 0);
    } catch (error) {
      // As Connection.send does: a socket that cannot take a message is closed; the others still get it.
      logger.warn("Closing a connection that could not take an awareness broadcast", { error: (error as Error).message });
      connection.close();
    }
  }
}

/** Bytes lib0's writeVarString takes for `text`: a varUint length, then UTF-8. */
function varStringLength(text: string): number {
  let bytes = Buffer.byteLength(text, "utf8");
  let length = bytes;
  do {
    length += 1;
    bytes >>>= 7;
  } while (bytes > 0);
  return length;
}

/**
 * The connection (its socket's gate and its message address) that must not get the awareness
 * broadcast being flushed: it would only echo its own states.
 */
let echoTarget: { gate: AwarenessGate; address: string } | null = null;

/**
 * The message address that must not get awareness messages now on `gate`'s socket, or null (the
 * usual case: only checked during a flush from apply()).
 */
export function ownAwarenessEchoAddress(gate: AwarenessGate): string | null {
  return echoTarget !== null && echoTarget.gate === gate ? echoTarget.address : null;
}

/** The client ids whose awareness change Hocuspocus will broadcast on its next flush. */
function pendingClients(document: Document): Set<number> | null {
  const pending = (document as unknown as { pendingAwarenessClients?: Set<number> }).pendingAwarenessClients;
  return pending instanceof Set && pending.size > 0 ? pending : null;
}

/** Whether the awareness changes Hocuspocus will broadcast on its next flush are all in `ids`. */
function carriesOnly(document: Document, ids: Set<number>): boolean {
  const pending = pendingClients(document);
  if (pending === null) return false;
  for (const id of pending) if (!ids.has(id)) return false;
  return true;
}

/**
 * Send a deferred flush of `document` now if it holds a state of one of `entries`' clients: applying
 * the newer one first would overwrite it before anyone saw it. Batching by the end of the turn is for
 * different clients' states; a client's own are never coalesced this way, so every state it sends
 * reaches the room (under the rate limit) even when the server reads several of them in one turn.
 */
function flushSuperseded(document: Document, entries: StampedEntry[]): void {
  const pending = pendingClients(document);
  if (pending === null || !entries.some((entry) => pending.has(entry.clientId))) return;
  const origin = deferredFlushes.get(document);
  deferredFlushes.delete(document);
  flushAwareness(document, origin ?? null);
}

/** Channels with renewals waiting, per document, and the timer that flushes them. */
const renewalBatches = new Map<Document, { channels: Set<Channel>; timer: NodeJS.Timeout }>();

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
      if (this.renewal(channel, raw)) continue;
      const entry = parseAwarenessEntry(raw, this.limits.maxStateBytes);
      const previous = channel.pending.get(entry.clientId);
      if (previous && previous.clock > entry.clock) continue;
      channel.pending.set(entry.clientId, entry);
      channel.renewals.delete(entry.clientId);
      if (entry.state === null) channel.last.delete(entry.clientId);
      else {
        const last = channel.last.get(entry.clientId);
        if (last) last.keep(raw.raw);
        else channel.last.set(entry.clientId, new LastState(raw.raw));
      }
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
        last: new Map(),
        renewals: new Map(),
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
    const stamped = stampEntries(channel.pending.values(), channel.user, channel.canWritePresence);
    for (const entry of stamped) {
      const last = channel.last.get(entry.clientId);
      if (last) last.json = entry.json;
    }
    channel.pending.clear();
    this.metrics.awarenessApplied.inc();
    const document = channel.document;
    flushSuperseded(document, stamped);
    renewAlong(document);
    document.applyAwarenessUpdate(channel.connection, writeAwarenessUpdate(stamped, stamped.length));
    // The first update of an event-loop turn goes out now (a quiet server answers at once, as the
    // y-websocket server does); under load the rest of the turn's go out together at its end, so
    // reads and writes stay grouped (see IMMEDIATE_FLUSHES_PER_TURN). Either way a broadcast that
    // carries only the sender's own states skips the sender (Hocuspocus sends awareness to every
    // connection, the origin too).
    if (takeImmediateFlush()) flushAwareness(document, channel);
    else deferFlush(document, channel);
  }

  /**
   * Whether `raw` only renews the state last applied for its client id (same bytes, newer clock);
   * if so its clock joins the room's renewal batch (see the module comment).
   */
  private renewal(channel: Channel, raw: RawAwarenessEntry): boolean {
    const last = channel.last.get(raw.clientId);
    if (last === undefined || last.json === null || channel.pending.has(raw.clientId) || !last.sameAs(raw.raw)) return false;
    const document = channel.document;
    if (document === null || channel.connection === null) return false;
    if ((channel.renewals.get(raw.clientId) ?? -1) < raw.clock) channel.renewals.set(raw.clientId, raw.clock);
    let batch = renewalBatches.get(document);
    if (!batch) {
      const created = { channels: new Set<Channel>(), timer: setTimeout(() => flushRenewals(document, created.channels), RENEWAL_BATCH_MS) };
      created.timer.unref();
      renewalBatches.set(document, created);
      batch = created;
    }
    batch.channels.add(channel);
    return true;
  }

  /** Count renewals forwarded by a renewal flush. */
  renewed(count: number): void {
    this.metrics.awarenessRenewals.inc(count);
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
    channel.renewals.clear();
    channel.last.clear();
    const byId = channel.document ? owners.get(channel.document) : undefined;
    if (byId) for (const id of channel.owned) if (byId.get(id) === channel) byId.delete(id);
    this.channels.delete(channel.address);
  }
}

/**
 * Apply the room's waiting renewals now, with a change about to be broadcast: they go out in that
 * message instead of one of their own. In a busy room renewals then cost no broadcast at all (at
 * 1 room × 200 clients, the renewal flush was one more write per client a second); the message also
 * reaches the changing connection, which ignores its own state in it.
 */
function renewAlong(document: Document): void {
  const batch = renewalBatches.get(document);
  if (batch === undefined) return;
  clearTimeout(batch.timer);
  flushRenewals(document, batch.channels);
}

/**
 * Apply a room's waiting renewals, every connection's in this one turn: Hocuspocus collects the
 * changed client ids of a turn and broadcasts them as one awareness message.
 */
function flushRenewals(document: Document, channels: Set<Channel>): void {
  renewalBatches.delete(document);
  for (const channel of channels) {
    if (channel.closed || channel.renewals.size === 0 || channel.connection === null || channel.document !== document) continue;
    const stamped: StampedEntry[] = [];
    for (const [clientId, clock] of channel.renewals) {
      const json = channel.last.get(clientId)?.json;
      if (json) stamped.push({ clientId, clock, json });
    }
    channel.renewals.clear();
    if (stamped.length === 0) continue;
    channel.gate.renewed(stamped.length);
    document.applyAwarenessUpdate(channel.connection, writeAwarenessUpdate(stamped, stamped.length));
  }
}

function toStampedUser(context: AttachContext): StampedUser {
  return stampedUser(context.userId, context.userInfo);
}
