/**
 * Connects and disconnects in the organisation's live log (server/domain/live-log): one entry per
 * authenticated socket connection to a room when it is established, and one when it closes, with
 * the socket's close code when the socket itself closed. Server-side direct connections (REST
 * writes) have no socket and are not logged. Refusals and throttling are the socket edge's
 * (server/realtime/socket-edge.ts); comment writes the comments area's.
 */
import type { Extension, connectedPayload, onDisconnectPayload } from "@hocuspocus/server";
import type { LiveLogRecorder } from "../server/domain/live-log/live-log.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";

export class LiveLogEvents implements Extension {
  extensionName = "syncforge-live-log";
  priority = 60;

  private readonly log: LiveLogRecorder;

  constructor(log: LiveLogRecorder) {
    this.log = log;
  }

  async connected({ context }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext> | undefined;
    if (!ctx?.socket || !ctx.orgId || ctx.roomId === undefined) return;
    this.log.record({ orgId: ctx.orgId, roomId: ctx.roomId, userId: ctx.userId ?? null, kind: "connect" });
  }

  async onDisconnect({ context }: onDisconnectPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext> | undefined;
    if (!ctx?.socket || !ctx.orgId || ctx.roomId === undefined) return;
    const code = ctx.socket.closeCode;
    this.log.record({ orgId: ctx.orgId, roomId: ctx.roomId, userId: ctx.userId ?? null, kind: "disconnect", ...(code === null ? {} : { code }) });
  }
}
