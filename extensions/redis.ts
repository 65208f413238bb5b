/**
 * Several processes, one room: @hocuspocus/extension-redis fans document updates out through Redis
 * and takes a Redis lock around each store. Presence (awareness) is not Hocuspocus': it crosses
 * processes through server/realtime/presence/presence-relay.ts. Durability does not depend on Redis:
 * each process logs the updates its own clients send (persistence.ts), and snapshot writes merge
 * rather than overwrite (document-store.ts).
 *
 * A client's update is applied before its log commit (persistence.ts); this process's sockets send
 * nothing before the commit (server/realtime/durable-outbound.ts), and the news of a change goes to
 * the other processes only after it too (onChange below). One window is left: another process
 * that asks this one for its state at that moment (its own load, or its answer to an earlier
 * change) gets the document as it is in memory. If this process then dies before the commit, the
 * other one still holds the update and stores it with its document; it is lost only if both die.
 */
import { Redis as RedisExtension } from "@hocuspocus/extension-redis";
import type { onChangePayload } from "@hocuspocus/server";
import { Redis as IORedis } from "ioredis";

export interface RedisOptions {
  url: string;
  prefix: string;
  identifier: string;
  /** The update log: a change is announced to other processes once it is durable. */
  log: { whenDurable(): Promise<void> };
}

/** Hocuspocus' Redis extension, announcing a change only once the update log has committed it. */
class DurableRedisExtension extends RedisExtension {
  private readonly log: RedisOptions["log"];

  constructor(configuration: ConstructorParameters<typeof RedisExtension>[0], log: RedisOptions["log"]) {
    super(configuration);
    this.log = log;
  }

  override async onChange(data: onChangePayload): Promise<void> {
    // The append of a client's update was queued before Hocuspocus applied it, so waiting for
    // everything appended so far covers it.
    await this.log.whenDurable();
    return super.onChange(data);
  }
}

export function createRedisExtension(options: RedisOptions): RedisExtension {
  return new DurableRedisExtension({
    createClient: () => new IORedis(options.url, { maxRetriesPerRequest: null, lazyConnect: false }),
    prefix: `${options.prefix}:collab`,
    identifier: options.identifier,
    disconnectDelay: 500,
  }, options.log);
}
