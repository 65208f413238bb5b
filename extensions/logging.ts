/**
 * Connection and document lifecycle in the log (ids only; never tokens or document bytes).
 */
import type { Extension, connectedPayload, onDisconnectPayload, afterLoadDocumentPayload, afterUnloadDocumentPayload } from "@hocuspocus/server";
import { parseDocumentName } from "../protocol/document-name.ts";
import { logger } from "../server/logger.ts";

export class Logging implements Extension {
  extensionName = "syncforge-logging";
  priority = 50;

  async connected({ documentName, context }: connectedPayload): Promise<void> {
    logger.debug("Client connected to a room", { ...parseDocumentName(documentName), userId: context?.userId });
  }

  async onDisconnect({ documentName, context, clientsCount }: onDisconnectPayload): Promise<void> {
    logger.debug("Client disconnected from a room", { ...parseDocumentName(documentName), userId: context?.userId, clientsCount });
  }

  async afterLoadDocument({ documentName }: afterLoadDocumentPayload): Promise<void> {
    logger.debug("Room document loaded", { ...parseDocumentName(documentName) });
  }

  async afterUnloadDocument({ documentName }: afterUnloadDocumentPayload): Promise<void> {
    logger.debug("Room document unloaded", { ...parseDocumentName(documentName) });
  }
}
