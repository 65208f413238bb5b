/**
 * Room presence from connection lifecycle: each established connection joins its room's presence
 * (server/domain/presence) and leaves it when it closes. A leave waits for its own join, so a
 * connection that closes while its join is still in flight is never counted twice or negatively.
 */
import type { Extension, connectedPayload, onDisconnectPayload } from "@hocuspocus/server";
import type { PresenceService } from "../server/domain/presence/presence-service.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";
import { logger } from "../server/logger.ts";

export class Presence implements Extension {
  extensionName = "syncforge-presence";
  priority = 100;

  private readonly presence: PresenceService;
  private readonly joined = new WeakMap<object, Promise<boolean>>();

  constructor(presence: PresenceService) {
    this.presence = presence;
  }

  async connected({ context }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext> | undefined;
    if (!ctx?.userId || !ctx.orgId || ctx.roomId === undefined) return;
    const join = this.presence
      .connected({ orgId: ctx.orgId, roomId: ctx.roomId }, ctx.userId, publicInfo(ctx.userInfo))
      .then(
        () => true,
        (error: Error) => {
          logger.warn("Could not record a connection in room presence", { error: error.message, orgId: ctx.orgId, roomId: ctx.roomId });
          return false;
        },
      );
    // Not awaited: a Redis round trip must not hold up the `connected` hooks after this one.
    this.joined.set(ctx, join);
  }

  async onDisconnect({ context }: onDisconnectPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext> | undefined;
    const join = ctx ? this.joined.get(ctx) : undefined;
    if (!ctx || !join) return;
    this.joined.delete(ctx);
    if (!(await join)) return;
    try {
      await this.presence.disconnected({ orgId: ctx.orgId!, roomId: ctx.roomId! }, ctx.userId!);
    } catch (error) {
      logger.warn("Could not remove a connection from room presence", { error: (error as Error).message, orgId: ctx.orgId, roomId: ctx.roomId });
    }
  }
}

/** What others may see of a user: the token's name/avatar/color and app fields. */
function publicInfo(info: ConnectionContext["userInfo"] | undefined): Record<string, unknown> {
  return info ? { ...info } : {};
}
