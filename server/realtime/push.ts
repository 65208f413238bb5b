/**
 * Server → client messages outside the document: notifications to a user, activity to a room.
 * They travel as Hocuspocus stateless messages on the connections of this process; with Redis,
 * every message is published once and each process (the publisher included) delivers it to its
 * own connections, so a user connected to any process receives it. The client-visible protocol is
 * in docs/notifications.md.
 *
 * A user is reached on every socket that has any room of that organisation open, once per socket
 * (a socket carrying several rooms gets one copy). Room messages skip connections whose token reads
 * presence only (room:presence:write alone): activity quotes comments.
 *
 * Listeners (`listenToUser`) receive a user's messages in this process whether or not that user has
 * a room open: the inbox's event stream (routes/notifications.ts) for a browser with no room open.
 */
import { OutgoingMessage, type Hocuspocus } from "@hocuspocus/server";
import { Redis as IORedis } from "ioredis";
import type { ConnectionContext } from "./connection-context.ts";
import { toDocumentName } from "../../protocol/document-name.ts";
import { logger } from "../logger.ts";

interface Envelope {
  to: "user" | "room";
  orgId: string;
  id: string;
  message: Record<string, unknown>;
}

export interface PushOptions {
  hocuspocus: () => Hocuspocus;
  /** The app's Redis client (publisher) and URL (for a subscriber); null runs in-process only. */
  redis: { client: IORedis; url: string; prefix: string } | null;
}

/** A user's push messages outside WebSockets; `end` is called when the push closes (shutdown). */
export interface UserListener {
  message(payload: string): void;
  end(): void;
}

export class RealtimePush {
  private readonly options: PushOptions;
  private readonly channel: string;
  private subscriber: IORedis | null = null;
  private readonly listeners = new Map<string, Set<UserListener>>();

  constructor(options: PushOptions) {
    this.options = options;
    this.channel = `${options.redis?.prefix ?? "syncforge"}:push`;
  }

  async start(): Promise<void> {
    const redis = this.options.redis;
    if (!redis) return;
    this.subscriber = new IORedis(redis.url, { maxRetriesPerRequest: null, lazyConnect: false });
    this.subscriber.on("error", (error: Error) => logger.warn("Redis push subscriber error", { error: error.message }));
    this.subscriber.on("message", (_channel: string, raw: string) => {
      try {
        this.deliver(JSON.parse(raw) as Envelope);
      } catch (error) {
        logger.warn("Ignored an unreadable push message", { error: (error as Error).message });
      }
    });
    await this.subscriber.subscribe(this.channel);
  }

  toUser(orgId: string, userId: string, message: Record<string, unknown>): void {
    this.send({ to: "user", orgId, id: userId, message });
  }

  toRoom(orgId: string, roomId: string, message: Record<string, unknown>): void {
    this.send({ to: "room", orgId, id: roomId, message });
  }

  /** Receive what is pushed to one user of one organisation; returns the unsubscribe function. */
  listenToUser(orgId: string, userId: string, listener: UserListener): () => void {
    const key = JSON.stringify([orgId, userId]);
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(key) === set) this.listeners.delete(key);
    };
  }

  async close(): Promise<void> {
    const listening = [...this.listeners.values()].flatMap((set) => [...set]);
    this.listeners.clear();
    for (const listener of listening) listener.end();
    const s = this.subscriber;
    this.subscriber = null;
    if (s) s.disconnect();
  }

  private send(envelope: Envelope): void {
    const redis = this.options.redis;
    // Without Redis, or once it is closed for shutdown, this process' connections are all there is.
    if (!redis || redis.client.status === "end") return this.deliver(envelope);
    redis.client.publish(this.channel, JSON.stringify(envelope)).catch((error: Error) => {
      logger.warn("Could not publish a push message; delivering locally only", { error: error.message });
      this.deliver(envelope);
    });
  }

  private deliver(envelope: Envelope): void {
    const hocuspocus = this.options.hocuspocus();
    const payload = JSON.stringify(envelope.message);
    if (envelope.to === "room") {
      // Encoded once per message address (what Connection.sendStateless would build for each
      // connection), so a room's sockets share one message.
      const document = hocuspocus.documents.get(toDocumentName(envelope.orgId, envelope.id));
      let address: string | null = null;
      let message: Uint8Array | null = null;
      for (const connection of document?.getConnections() ?? []) {
        // Room messages (the activity feed) quote comments: not for a token that reads presence only.
        if ((connection.context as Partial<ConnectionContext>).access?.readLevel === "presence") continue;
        if (connection.messageAddress !== address || message === null) {
          address = connection.messageAddress;
          message = new OutgoingMessage(address).writeStateless(payload).toUint8Array();
        }
        connection.send(message);
      }
      return;
    }
    for (const listener of this.listeners.get(JSON.stringify([envelope.orgId, envelope.id])) ?? []) listener.message(payload);
    const seen = new Set<unknown>();
    for (const document of hocuspocus.documents.values()) {
      for (const connection of document.getConnections()) {
        const ctx = connection.context as Partial<ConnectionContext>;
        if (ctx.orgId !== envelope.orgId || ctx.userId !== envelope.id) continue;
        const socket = ctx.socket ?? connection;
        if (seen.has(socket)) continue;
        seen.add(socket);
        connection.sendStateless(payload);
      }
    }
  }
}
