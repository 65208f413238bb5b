/**
 * Webhook events from connection lifecycle and document changes. Like Liveblocks, `userEntered` and
 * `userLeft` fire per connection (a user with two tabs enters twice, each with its own
 * connectionId); `ydocUpdated` is coalesced to at most one per room per window, sent at the
 * window's end (see server/webhooks-area.ts). Updates relayed from other processes (Redis) are
 * reported by the process that took them in, never again here.
 */
import type { Extension, connectedPayload, onChangePayload, onDisconnectPayload } from "@hocuspocus/server";
import type { ConnectionContext } from "../server/realtime/connection-context.ts";
import { parseDocumentName } from "../protocol/document-name.ts";

export interface WebhookConnectionEvent {
  type: "userEntered" | "userLeft";
  orgId: string;
  roomId: string;
  userId: string;
  connectionId: string;
  userInfo: Record<string, unknown>;
  /** Connections this server process holds to the room after the change. */
  numActiveConnections: number;
  /** Liveblocks' names for the moment: enteredAt on userEntered, leftAt on userLeft. */
  enteredAt?: string;
  leftAt?: string;
}

export interface WebhooksExtensionOptions {
  onConnection: (event: WebhookConnectionEvent) => void;
  onDocumentChanged: (orgId: string, roomId: string) => void;
}

/** Changes made in this process (a client's, or the server's own); not loads nor other processes' relays. */
const NEW_CHANGE = new Set(["connection", "local"]);

export class Webhooks implements Extension {
  extensionName = "syncforge-webhooks";
  // Among the last: the connection is accepted and authenticated by then.
  priority = 50;

  private readonly options: WebhooksExtensionOptions;
  private readonly entered = new WeakSet<object>();

  constructor(options: WebhooksExtensionOptions) {
    this.options = options;
  }

  async connected({ context, socketId, documentName, instance }: connectedPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext> | undefined;
    if (!ctx?.userId || !ctx.orgId || ctx.roomId === undefined) return;
    this.entered.add(ctx);
    this.report("userEntered", ctx, socketId, instance.documents.get(documentName)?.getConnectionsCount() ?? 1);
  }

  async onDisconnect({ context, socketId, clientsCount }: onDisconnectPayload): Promise<void> {
    const ctx = context as Partial<ConnectionContext> | undefined;
    if (!ctx || !this.entered.has(ctx)) return;
    this.entered.delete(ctx);
    this.report("userLeft", ctx, socketId, clientsCount);
  }

  async onChange({ documentName, transactionOrigin }: onChangePayload): Promise<void> {
    const source = (transactionOrigin as { source?: string } | null)?.source;
    if (source === undefined || !NEW_CHANGE.has(source)) return;
    const room = parseDocumentName(documentName);
    if (room) this.options.onDocumentChanged(room.orgId, room.roomId);
  }

  private report(type: WebhookConnectionEvent["type"], ctx: Partial<ConnectionContext>, connectionId: string, count: number): void {
    this.options.onConnection({
      type,
      orgId: ctx.orgId!,
      roomId: ctx.roomId!,
      userId: ctx.userId!,
      connectionId,
      userInfo: ctx.userInfo ? { ...ctx.userInfo } : {},
      numActiveConnections: count,
      [type === "userEntered" ? "enteredAt" : "leftAt"]: new Date().toISOString(),
    });
  }
}
