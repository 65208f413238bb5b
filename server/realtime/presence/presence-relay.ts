/**
 * Presence across processes, over Redis pub/sub. Each process subscribes to the channel of every
 * room it has members in (`<prefix>:presence:<document name>`) and to its own reply channel
 * (`<prefix>:presence-reply:<instance id>`).
 *
 * Messages are binary (lib0): varUint(type) · varString(sender instance id) · varString(document
 * name), then for an update varUint(count) · count × (varUint(client id) · varUint(clock) ·
 * varString(user id) · varString(stamped JSON, "null" when removed)).
 *  - Update: states a process applied (stamped by it: processes trust each other), and removals
 *    when its members leave. Published to the room's channel.
 *  - Query: sent by a process when a room gets its first member here; every other process with
 *    members in that room answers on the asker's reply channel with an Update of its states.
 *  - Event: a room's broadcast event (server/realtime/room-events.ts), then varString(the stamped
 *    JSON its connections get). Published to the room's channel by the process that took it in,
 *    which delivers it to its own connections itself; any process may publish one (REST), whether
 *    it has members in the room or not.
 *
 * Pub/sub is at most once: a lost removal is made good by the receiver's expiry of states not
 * renewed (providers renew every 15 s; see presence-room.ts).
 */
import type { Redis } from "ioredis";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { logger } from "../../logger.ts";

/** One client's state as it travels between processes. */
export interface RelayEntry {
  clientId: number;
  clock: number;
  userId: string;
  json: string;
}

/** What the relay calls on its hub. */
export interface RelayHandlers {
  update(documentName: string, fromProcess: string, entries: RelayEntry[]): void;
  query(documentName: string, fromProcess: string): void;
  /** A broadcast event another process took in, for this process's connections of the room. */
  event(documentName: string, fromProcess: string, payload: string): void;
}

export interface PresenceRelay {
  /** A room got its first member here: listen to it, and ask the other processes for their states. */
  join(documentName: string): void;
  /** A room has no member here any more. */
  leave(documentName: string): void;
  publish(documentName: string, entries: RelayEntry[]): void;
  /** Answer `toProcess`'s query with this process's states. */
  answer(toProcess: string, documentName: string, entries: RelayEntry[]): void;
  /** Send a room's broadcast event to the other processes with members in it. */
  publishEvent(documentName: string, payload: string): void;
  close(): Promise<void>;
}

export interface PresenceRelayOptions {
  redis: Redis;
  prefix: string;
  instanceId: string;
  handlers: RelayHandlers;
}

const MessageKind = { Update: 0, Query: 1, Event: 2 } as const;
const WARN_EVERY_MS = 10_000;

/** Subscribe this process's reply channel and return the relay (subscriptions are restored on reconnect by ioredis). */
export function createPresenceRelay(options: PresenceRelayOptions): PresenceRelay {
  const { redis, prefix, instanceId, handlers } = options;
  const roomChannel = (documentName: string) => `${prefix}:presence:${documentName}`;
  const replyChannel = (process: string) => `${prefix}:presence-reply:${process}`;
  // No retry limit: a subscribe sent while Redis is down waits for it instead of failing for good.
  const subscriber = redis.duplicate({ maxRetriesPerRequest: null });
  const inflight = new Set<Promise<unknown>>();
  let warnedAt = 0;

  const warn = (message: string, error: Error) => {
    const now = Date.now();
    if (now - warnedAt < WARN_EVERY_MS) return;
    warnedAt = now;
    logger.warn(message, { error: error.message });
  };
  const send = (channel: string, message: Uint8Array) => {
    const sent: Promise<unknown> = redis.publish(channel, Buffer.from(message.buffer, message.byteOffset, message.byteLength)).catch((error: Error) => {
      warn("Could not publish presence to other processes", error);
    });
    inflight.add(sent);
    void sent.finally(() => inflight.delete(sent));
  };

  subscriber.on("error", (error: Error) => warn("Redis presence subscriber error", error));
  subscriber.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
    let decoded: DecodedMessage;
    try {
      decoded = decodeMessage(message);
    } catch {
      logger.warn("Ignored an unreadable presence message from Redis");
      return;
    }
    if (decoded.from === instanceId) return; // our own publish, echoed by Redis
    if (decoded.kind === MessageKind.Query) handlers.query(decoded.documentName, decoded.from);
    else if (decoded.kind === MessageKind.Event) handlers.event(decoded.documentName, decoded.from, decoded.payload);
    else handlers.update(decoded.documentName, decoded.from, decoded.entries);
  });
  subscriber.subscribe(replyChannel(instanceId)).catch((error: Error) => warn("Could not subscribe to presence replies", error));

  return {
    join(documentName) {
      subscriber.subscribe(roomChannel(documentName)).catch((error: Error) => warn("Could not subscribe to a room's presence", error));
      send(roomChannel(documentName), encodeMessage(MessageKind.Query, instanceId, documentName, []));
    },
    leave(documentName) {
      subscriber.unsubscribe(roomChannel(documentName)).catch((error: Error) => warn("Could not unsubscribe from a room's presence", error));
    },
    publish(documentName, entries) {
      send(roomChannel(documentName), encodeMessage(MessageKind.Update, instanceId, documentName, entries));
    },
    answer(toProcess, documentName, entries) {
      if (entries.length === 0) return;
      send(replyChannel(toProcess), encodeMessage(MessageKind.Update, instanceId, documentName, entries));
    },
    publishEvent(documentName, payload) {
      send(roomChannel(documentName), encodeMessage(MessageKind.Event, instanceId, documentName, [], payload));
    },
    async close() {
      // Removals published while the sockets closed go out before the connection does.
      await Promise.allSettled([...inflight]);
      subscriber.disconnect();
    },
  };
}

interface DecodedMessage {
  kind: number;
  from: string;
  documentName: string;
  entries: RelayEntry[];
  /** An Event's stamped JSON ("" for other kinds). */
  payload: string;
}

export function encodeMessage(kind: number, from: string, documentName: string, entries: RelayEntry[], payload = ""): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, kind);
  encoding.writeVarString(encoder, from);
  encoding.writeVarString(encoder, documentName);
  if (kind === MessageKind.Update) {
    encoding.writeVarUint(encoder, entries.length);
    for (const entry of entries) {
      encoding.writeVarUint(encoder, entry.clientId);
      encoding.writeVarUint(encoder, entry.clock);
      encoding.writeVarString(encoder, entry.userId);
      encoding.writeVarString(encoder, entry.json);
    }
  } else if (kind === MessageKind.Event) {
    encoding.writeVarString(encoder, payload);
  }
  return encoding.toUint8Array(encoder);
}

export function decodeMessage(message: Uint8Array): DecodedMessage {
  const decoder = decoding.createDecoder(message);
  const kind = decoding.readVarUint(decoder);
  const from = decoding.readVarString(decoder);
  const documentName = decoding.readVarString(decoder);
  const entries: RelayEntry[] = [];
  let payload = "";
  if (kind === MessageKind.Event) {
    payload = decoding.readVarString(decoder);
  } else if (kind === MessageKind.Update) {
    const count = decoding.readVarUint(decoder);
    if (count > message.length) throw new RangeError("presence entry count runs past the end");
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const userId = decoding.readVarString(decoder);
      const json = decoding.readVarString(decoder);
      entries.push({ clientId, clock, userId, json });
    }
  } else if (kind !== MessageKind.Query) {
    throw new RangeError(`unknown presence message kind ${kind}`);
  }
  if (decoder.pos > message.length) throw new RangeError("presence message runs past the end");
  return { kind, from, documentName, entries, payload };
}
