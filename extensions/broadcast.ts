/**
 * Broadcast events from clients: Hocuspocus' public onStateless hook reads each stateless message a
 * connection sends, and hands `sf:broadcast` ones (protocol/events.ts) to server/realtime/room-events.ts,
 * which checks, stamps and delivers them. Other stateless payloads are left alone. Never throws:
 * Hocuspocus does not await this hook, and a refusal is a message to the sender, not a close.
 */
import type { Extension, onStatelessPayload } from "@hocuspocus/server";
import { readBroadcast } from "../protocol/events.ts";
import type { RoomEvents } from "../server/realtime/room-events.ts";
import { logger } from "../server/logger.ts";

export class Broadcast implements Extension {
  extensionName = "syncforge-broadcast";

  private readonly events: RoomEvents;

  constructor(events: RoomEvents) {
    this.events = events;
  }

  async onStateless({ connection, payload }: onStatelessPayload): Promise<void> {
    const broadcast = readBroadcast(payload);
    if (!broadcast.found) return;
    try {
      this.events.fromConnection(connection, broadcast.event);
    } catch (error) {
      logger.error("Could not handle a broadcast event", { error: (error as Error).message });
    }
  }
}
