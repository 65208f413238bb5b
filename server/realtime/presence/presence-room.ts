/**
 * One room's presence (awareness), owned by the realtime edge: the states of this process's
 * members and of other processes' clients, who owns which client id, and the broadcast.
 *
 * - Ownership: a member owns the client ids it announces first, that no other member owns and that
 *   the room does not know from another process; at most MAX_CLIENT_IDS_PER_CONNECTION each.
 * - Broadcast: applied states wait in `pending` (latest per client id) until the room flushes. The
 *   first flush of an event-loop turn goes out at once, the rest at the turn's end (TurnBatch in
 *   presence-hub.ts). Hocuspocus batches document updates until the end of the turn too: a flush
 *   first has it send what it holds (Document.flush), so a cursor never reaches a client before the
 *   text it points into. A broadcast carrying only one member's states skips that member (a client
 *   needs no echo of its own state). The message is encoded once per distinct client address and
 *   sent through each member's transport.
 * - A client's own states are never coalesced this way: applying a newer one while an older one
 *   is still pending sends the older one first (prepareChange), so every state a client sends
 *   within the rate limit reaches the room.
 * - Renewals (a provider's 15 s keep-alive of an unchanged state) wait up to RENEWAL_BATCH_MS and go
 *   out together — in a room of n clients, n²/15 sends a second carrying nothing new otherwise — or
 *   along with the room's next change (renewAlong in prepareChange), needing no message of their own.
 * - Remote states (other processes, presence-relay.ts) are kept per client id with the process
 *   they came from, and expire when not heard of for the hub's remote timeout (a dead process).
 */
import type { Document } from "@hocuspocus/server";
import type { PresenceHub } from "./presence-hub.ts";
import { MAX_CLIENT_IDS_PER_CONNECTION, type PresenceMember } from "./presence-member.ts";
import type { RelayEntry } from "./presence-relay.ts";
import { encodeAwarenessMessage, writeAwarenessUpdate, type StampedEntry } from "../awareness.ts";
import { logger } from "../../logger.ts";

/** How long a renewal (an unchanged state with a new clock) may wait to share a broadcast. */
export const RENEWAL_BATCH_MS = 1000;

/** A state waiting for the room's next flush; `local` ones are also published to other processes. */
interface PendingEntry extends StampedEntry {
  userId: string;
  local: boolean;
}

interface RemoteState {
  process: string;
  clock: number;
  json: string;
  userId: string;
  heardAt: number;
}

export class PresenceRoom {
  /** The document name. */
  readonly name: string;
  readonly members: PresenceMember[] = [];
  /** Client id → the member that owns it (this process). */
  readonly owners = new Map<number, PresenceMember>();
  /** Client id → its state from another process. */
  readonly remote = new Map<number, RemoteState>();
  /** The loaded document (its members' connections'), whose batched updates go out before presence. */
  private document: Document | null = null;
  private readonly hub: PresenceHub;
  private pending = new Map<number, PendingEntry>();
  /** The one member every pending entry came from; null when several (or another process). */
  private origin: PresenceMember | null = null;
  private readonly renewing = new Set<PresenceMember>();
  private renewalTimer: NodeJS.Timeout | null = null;

  constructor(name: string, hub: PresenceHub) {
    this.name = name;
    this.hub = hub;
  }

  /** A member joined: it gets every state the room has (Hocuspocus did this from its own awareness). */
  join(member: PresenceMember): void {
    this.members.push(member);
    this.document = member.connection?.document ?? this.document;
    this.sendStates(member, false);
  }

  /** Answer a client's QueryAwareness with the room's states. */
  query(member: PresenceMember): void {
    this.sendStates(member, true);
  }

  /** A member left: its states are removed for everyone (here and in other processes). */
  leave(member: PresenceMember): void {
    const index = this.members.indexOf(member);
    if (index !== -1) this.members.splice(index, 1);
    this.renewing.delete(member);
    let removed = false;
    for (const [clientId, last] of member.last) {
      if (last.json === null) continue;
      this.add(member, clientId, last.clock + 1, "null", member.user?.id ?? "", true);
      removed = true;
    }
    for (const clientId of member.owned) if (this.owners.get(clientId) === member) this.owners.delete(clientId);
    if (this.members.length === 0) {
      this.flush();
      this.hub.dropRoom(this);
    } else if (removed) {
      this.changed();
    }
  }

  /** Whether `member` owns `clientId` or may claim it now (see the module comment). */
  claim(member: PresenceMember, clientId: number): boolean {
    const owner = this.owners.get(clientId);
    if (owner === member) return true;
    const metrics = this.hub.metrics;
    if (owner !== undefined || this.remote.has(clientId)) {
      metrics.awarenessDroppedNotOwner.inc();
      return false;
    }
    if (member.owned.size >= MAX_CLIENT_IDS_PER_CONNECTION) {
      metrics.awarenessDroppedTooMany.inc();
      return false;
    }
    this.owners.set(clientId, member);
    member.owned.add(clientId);
    return true;
  }

  /**
   * Before a member's new states are added: send now what is pending for any of their client ids
   * (the newer state would overwrite it before anyone saw it), and take the waiting renewals along.
   */
  prepareChange(clientIds: Iterable<number>): void {
    if (this.pending.size > 0) {
      for (const clientId of clientIds) {
        if (!this.pending.has(clientId)) continue;
        this.flush();
        break;
      }
    }
    if (this.renewalTimer !== null) this.takeRenewals();
  }

  /** Queue a state (stamped JSON, "null" for removed) for the room's next flush. */
  add(from: PresenceMember | null, clientId: number, clock: number, json: string, userId: string, local: boolean): void {
    if (this.pending.size === 0) this.origin = from;
    else if (this.origin !== from) this.origin = null;
    this.pending.set(clientId, { clientId, clock, json, userId, local });
  }

  /** States were added: flush now or at the end of the turn. */
  changed(): void {
    this.hub.turn.flush(this);
  }

  /** A member's renewal waits for the room's renewal batch. */
  renewLater(member: PresenceMember): void {
    this.renewing.add(member);
    if (this.renewalTimer !== null) return;
    this.renewalTimer = setTimeout(() => {
      this.takeRenewals();
      this.flush();
    }, RENEWAL_BATCH_MS);
    this.renewalTimer.unref();
  }

  /** Broadcast what is pending to every member but a sole origin, and publish the local part. */
  flush(): void {
    const pending = this.pending;
    if (pending.size === 0) return;
    const skip = this.origin;
    this.pending = new Map();
    this.origin = null;
    const update = writeAwarenessUpdate(pending.values(), pending.size);
    const relay = this.hub.relay;
    if (relay !== null) {
      const local: RelayEntry[] = [];
      for (const entry of pending.values()) if (entry.local) local.push(entry);
      if (local.length > 0) relay.publish(this.name, local);
    }
    this.document?.flush();
    this.fanOut(update, skip);
  }

  /** States from another process (an update, or the answer to our query). */
  receiveRemote(process: string, entries: RelayEntry[], now: number): void {
    let changed = false;
    for (const entry of entries) {
      if (this.owners.has(entry.clientId)) continue; // ours here: another process cannot take it over
      const known = this.remote.get(entry.clientId);
      if (known !== undefined && known.clock >= entry.clock) {
        if (known.clock === entry.clock) known.heardAt = now;
        continue;
      }
      if (entry.json === "null") {
        if (known === undefined) continue;
        this.remote.delete(entry.clientId);
      } else {
        this.remote.set(entry.clientId, { process, clock: entry.clock, json: entry.json, userId: entry.userId, heardAt: now });
      }
      this.add(null, entry.clientId, entry.clock, entry.json, entry.userId, false);
      changed = true;
    }
    if (changed) this.changed();
  }

  /** Remove remote states not heard of since `before` (their process died or lost Redis). */
  expireRemote(before: number): void {
    let changed = false;
    for (const [clientId, state] of this.remote) {
      if (state.heardAt > before) continue;
      this.remote.delete(clientId);
      this.add(null, clientId, state.clock + 1, "null", state.userId, false);
      changed = true;
    }
    if (changed) this.changed();
  }

  /** This process's applied states, for another process's query. */
  localStates(): RelayEntry[] {
    const entries: RelayEntry[] = [];
    for (const member of this.members) {
      const userId = member.user?.id ?? "";
      for (const [clientId, last] of member.last) if (last.json !== null) entries.push({ clientId, clock: last.clock, json: last.json, userId });
    }
    return entries;
  }

  /** Every state the room shows, parsed (for inspection and tests). */
  states(): Map<number, unknown> {
    const states = new Map<number, unknown>();
    for (const entry of this.localStates()) states.set(entry.clientId, JSON.parse(entry.json));
    for (const [clientId, state] of this.remote) states.set(clientId, JSON.parse(state.json));
    return states;
  }

  /** Stop the renewal timer (the room is dropped or the hub closes). */
  stop(): void {
    if (this.renewalTimer !== null) clearTimeout(this.renewalTimer);
    this.renewalTimer = null;
    this.renewing.clear();
  }

  private takeRenewals(): void {
    if (this.renewalTimer !== null) clearTimeout(this.renewalTimer);
    this.renewalTimer = null;
    let count = 0;
    for (const member of this.renewing) {
      if (member.closed || member.user === null) continue;
      for (const [clientId, last] of member.last) {
        const clock = last.renewal;
        if (clock < 0) continue;
        last.renewal = -1;
        if (last.json === null) continue;
        if (clock > last.clock) last.clock = clock;
        this.add(member, clientId, last.clock, last.json, member.user.id, true);
        count += 1;
      }
    }
    this.renewing.clear();
    if (count > 0) this.hub.metrics.awarenessRenewals.inc(count);
  }

  /** Send `member` the room's states, its own excepted; `always` answers even when there are none. */
  private sendStates(member: PresenceMember, always: boolean): void {
    const entries: StampedEntry[] = [];
    for (const other of this.members) {
      if (other === member) continue;
      for (const [clientId, last] of other.last) if (last.json !== null) entries.push({ clientId, clock: last.clock, json: last.json });
    }
    for (const [clientId, state] of this.remote) entries.push({ clientId, clock: state.clock, json: state.json });
    if (entries.length === 0 && !always) return;
    const update = writeAwarenessUpdate(entries, entries.length);
    this.send(member, encodeAwarenessMessage(member.transport.bodyOnly ? null : member.clientAddress, update));
  }

  /** Encode once per distinct client address (and once for body-only sockets), send to each member but `skip`. */
  private fanOut(update: Uint8Array, skip: PresenceMember | null): void {
    const members = this.members;
    let address: string | null = null;
    let message: Uint8Array | null = null;
    let body: Uint8Array | null = null;
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      if (member === skip) continue;
      if (member.transport.bodyOnly) {
        body ??= encodeAwarenessMessage(null, update);
        this.send(member, body);
        continue;
      }
      if (message === null || member.clientAddress !== address) {
        address = member.clientAddress;
        message = encodeAwarenessMessage(address, update);
      }
      this.send(member, message);
    }
  }

  private send(member: PresenceMember, bytes: Uint8Array): void {
    try {
      member.transport.send(bytes);
    } catch (error) {
      // As Hocuspocus' Connection.send does: a socket that cannot take a message is closed; the others
      // still get it. After the fan-out: closing leaves the room, which changes the list being sent to.
      logger.warn("Closing a connection that could not take an awareness message", { error: (error as Error).message });
      const connection = member.connection;
      if (connection !== null) queueMicrotask(() => connection.close());
    }
  }
}
