/**
 * Broadcast events (protocol/events.ts): JSON that a connection, or the app's backend over REST,
 * sends to every OTHER connection of a room, on every process. Nothing is stored: an event reaches
 * whoever is connected when it arrives, at most once.
 *
 * A connection's event comes in as a Hocuspocus stateless message (extensions/broadcast.ts; /yjs
 * clients' message type 100 is turned into one by yws-socket.ts), so it is handled in order with the
 * connection's other messages and counts against its document message rate. Here it is checked —
 * room:write or room:presence:write, at most `maxEventBytes` of JSON, at most `perSecond` events per
 * connection (token bucket with `burst`) — and stamped with the sender's identity from its verified
 * token and its awareness client id. A refused event reaches nobody; its sender alone gets an
 * `sf:event_refused` message (once per run of rate-limited events).
 *
 * Delivery: this process's connections of the room, through Hocuspocus' public
 * `Document.relayStateless` (one encoded message per address, the sender filtered out), and the
 * other processes through presence's Redis channel of the room (presence/presence-relay.ts), where
 * each process with members in the room delivers to its own connections. Not the Redis extension's
 * stateless fan-out: that needs the document loaded on the sending process, and a REST event must
 * not load a room's document.
 */
import type { Connection, Hocuspocus } from "@hocuspocus/server";
import { canBroadcast } from "../../protocol/permissions.ts";
import { toDocumentName } from "../../protocol/document-name.ts";
import { SERVER_CONNECTION_ID, type EventRefusal, type EventRefusedMessage, type RoomEventMessage } from "../../protocol/events.ts";
import type { PresenceHub } from "./presence/presence-hub.ts";
import type { ConnectionContext } from "./connection-context.ts";
import { BadRequestError, PayloadTooLargeError } from "../errors.ts";
import { logger } from "../logger.ts";

export interface RoomEventLimits {
  /** Events per second per connection (token bucket refill). */
  perSecond: number;
  burst: number;
  /** Bytes of an event's JSON. */
  maxEventBytes: number;
}

export interface RoomEventsOptions {
  hocuspocus: () => Hocuspocus;
  presence: PresenceHub;
  limits: RoomEventLimits;
}

/** One connection's budget: a token bucket, and whether its sender was told it is over. */
interface Budget {
  tokens: number;
  refilledAt: number;
  told: boolean;
}

const REFUSALS: Record<EventRefusal, string> = {
  broadcast_forbidden: "Broadcasting events needs room:write or room:presence:write",
  event_too_large: "The event is larger than the server allows",
  event_rate_limited: "Too many events from this connection; events over the limit were dropped",
  event_invalid: "A broadcast needs an `event` that is JSON",
};

export class RoomEvents {
  private readonly options: RoomEventsOptions;
  private readonly budgets = new WeakMap<Connection, Budget>();

  constructor(options: RoomEventsOptions) {
    this.options = options;
    options.presence.onRemoteEvent = (documentName, payload) => this.deliver(documentName, payload, null);
  }

  /** A connection's broadcast: checked, stamped, delivered to the room's other connections. */
  fromConnection(connection: Connection, event: unknown): void {
    const ctx = connection.context as Partial<ConnectionContext>;
    if (!canBroadcast(ctx.permissions ?? [])) return this.refuse(connection, "broadcast_forbidden");
    const json = event === undefined ? undefined : JSON.stringify(event);
    if (json === undefined) return this.refuse(connection, "event_invalid");
    if (Buffer.byteLength(json) > this.options.limits.maxEventBytes) return this.refuse(connection, "event_too_large");
    if (!this.take(connection)) return;
    const message: RoomEventMessage = {
      type: "sf:event",
      user: { id: ctx.userId ?? "", info: { ...(ctx.userInfo ?? {}) } },
      connectionId: this.options.presence.clientIdOf(connection) ?? SERVER_CONNECTION_ID,
      event,
    };
    this.send(connection.document.name, JSON.stringify(message), connection);
  }

  /**
   * The app's backend (REST): delivered to every connection of the room on every process, stamped
   * with no user. Throws 400/413 for an event that is not JSON or too large.
   */
  fromServer(orgId: string, roomId: string, event: unknown): void {
    const json = event === undefined ? undefined : JSON.stringify(event);
    if (json === undefined) throw new BadRequestError(REFUSALS.event_invalid, "event_invalid");
    if (Buffer.byteLength(json) > this.options.limits.maxEventBytes) {
      throw new PayloadTooLargeError(`The event is larger than ${this.options.limits.maxEventBytes} bytes of JSON`, "event_too_large");
    }
    const message: RoomEventMessage = { type: "sf:event", user: null, connectionId: SERVER_CONNECTION_ID, event };
    this.send(toDocumentName(orgId, roomId), JSON.stringify(message), null);
  }

  private send(documentName: string, payload: string, sender: Connection | null): void {
    this.deliver(documentName, payload, sender);
    this.options.presence.relay?.publishEvent(documentName, payload);
  }

  /** To this process's connections of the document, except the sender's. */
  private deliver(documentName: string, payload: string, sender: Connection | null): void {
    const document = this.options.hocuspocus().documents.get(documentName);
    if (!document) return;
    document.relayStateless(payload, sender === null ? undefined : (connection) => connection !== sender);
  }

  private refuse(connection: Connection, code: EventRefusal): void {
    const ctx = connection.context as Partial<ConnectionContext>;
    logger.info("Refused a broadcast event", { code, orgId: ctx.orgId, roomId: ctx.roomId, userId: ctx.userId });
    const message: EventRefusedMessage = { type: "sf:event_refused", code, message: REFUSALS[code] };
    connection.sendStateless(JSON.stringify(message));
  }

  /** Take one event from the connection's bucket; over the limit, the sender is told once per run. */
  private take(connection: Connection): boolean {
    const { perSecond, burst } = this.options.limits;
    const now = performance.now();
    let budget = this.budgets.get(connection);
    if (budget === undefined) {
      budget = { tokens: burst, refilledAt: now, told: false };
      this.budgets.set(connection, budget);
    }
    budget.tokens = Math.min(burst, budget.tokens + ((now - budget.refilledAt) * perSecond) / 1000);
    budget.refilledAt = now;
    if (budget.tokens >= 1) {
      budget.tokens -= 1;
      budget.told = false;
      return true;
    }
    if (!budget.told) {
      budget.told = true;
      this.refuse(connection, "event_rate_limited");
    }
    return false;
  }
}
