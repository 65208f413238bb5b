/**
 * Usage metering at the WebSocket edge (docs/billing.md): each end user's connection to a room is
 * counted when it opens and when it closes (server/domain/usage/usage-meter.ts: concurrent
 * connections, active rooms, daily and monthly active users). Document messages are counted by the
 * comment guard, which reads every update anyway (extensions/comments.ts), so no hook runs here per
 * message. Server-side direct connections are not end users and are not counted.
 */
import type { Extension, connectedPayload, onDisconnectPayload } from "@hocuspocus/server";
import type { UsageMeter } from "../server/domain/usage/usage-meter.ts";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";

export class Usage implements Extension {
  extensionName = "syncforge-usage";

  private readonly meter: Pick<UsageMeter, "connectionOpened" | "connectionClosed">;
  /** Connections counted as open (socket id + document), so a close without an open is ignored. */
  private readonly open = new Map<string, { orgId: string; roomId: string }>();

  constructor(meter: Pick<UsageMeter, "connectionOpened" | "connectionClosed">) {
    this.meter = meter;
  }

  async connected({ context, socketId, documentName }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext>;
    const key = `${socketId}\u0000${documentName}`;
    if (!ctx.orgId || !ctx.roomId || !ctx.userId || this.open.has(key)) return;
    this.open.set(key, { orgId: ctx.orgId, roomId: ctx.roomId });
    this.meter.connectionOpened(ctx.orgId, ctx.roomId, ctx.userId);
  }

  async onDisconnect({ socketId, documentName }: onDisconnectPayload): Promise<void> {
    const key = `${socketId}\u0000${documentName}`;
    const room = this.open.get(key);
    if (!room) return;
    this.open.delete(key);
    this.meter.connectionClosed(room.orgId, room.roomId);
  }
}
