/**
 * Removing a room's document when the room is deleted, in the only safe order: close the live
 * connections (each with 4404 room_deleted, on /collab and /yjs; a /collab socket carrying other
 * rooms stays open), mark the loaded document as discarded so that unloading it stores nothing,
 * wait until Hocuspocus has unloaded it, let the update log drain, and only then delete the stored
 * state. Deleting first would let a final store on unload resurrect it.
 *
 * Every process runs this (revocation.ts, through Redis): the one that deleted the room deletes
 * the stored state at once; another one that had the document loaded closes its connections the
 * same way and then deletes what it may have stored since, unless the room was created again in
 * the meantime (then the stored state belongs to the new room). Clients refused with 4404 cannot
 * re-create the room with the token they had (room-service.ts).
 */
import type { Document, Hocuspocus } from "@hocuspocus/server";
import type { DocumentStore } from "../domain/documents/document-store.ts";
import type { UpdateLog } from "../domain/documents/update-log.ts";
import { CloseCodes } from "../../protocol/close-codes.ts";
import type { SocketContext } from "./socket-edge.ts";
import { toDocumentName } from "../../protocol/document-name.ts";
import { logger } from "../logger.ts";

export const ROOM_DELETED = CloseCodes.RoomDeleted;

export interface DocumentDestroyer {
  /** This process deleted the room: close its connections, then delete its stored state. */
  destroy(orgId: string, roomId: string): Promise<void>;
  /** Another process deleted the room: close this process's connections and drop its copy. */
  discardCopy(orgId: string, roomId: string): Promise<void>;
}

export function createDocumentDestroyer(deps: {
  hocuspocus: () => Hocuspocus;
  store: DocumentStore;
  updateLog: UpdateLog;
  /** The persistence extension: a discarded document stores nothing when it unloads. */
  persistence: { discard(document: Document): void };
  /** Whether the room exists (again): another process then leaves the stored state alone. */
  roomExists: (orgId: string, roomId: string) => Promise<boolean>;
  timeoutMs?: number;
}): DocumentDestroyer {
  const timeoutMs = deps.timeoutMs ?? 10_000;

  /** Close and unload the document; false when it was not loaded in this process at all. */
  async function closeAndUnload(orgId: string, roomId: string): Promise<boolean> {
    const hocuspocus = deps.hocuspocus();
    const name = toDocumentName(orgId, roomId);
    const loaded = () => hocuspocus.documents.has(name) || hocuspocus.loadingDocuments.has(name) || hocuspocus.unloadingDocuments.has(name);
    if (!loaded()) return false;
    const deadline = Date.now() + timeoutMs;
    while (loaded() && Date.now() < deadline) {
      const document = hocuspocus.documents.get(name);
      if (document) {
        deps.persistence.discard(document);
        for (const connection of document.getConnections()) {
          const socket = (connection.context as Partial<SocketContext>).socket;
          connection.close({ code: ROOM_DELETED.code, reason: ROOM_DELETED.reason });
          socket?.refuse(name, ROOM_DELETED.code, ROOM_DELETED.reason);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (loaded()) logger.warn("A deleted room's document did not unload in time; deleting its state anyway", { orgId, roomId });
    await deps.updateLog.drain();
    return true;
  }

  return {
    async destroy(orgId, roomId) {
      await closeAndUnload(orgId, roomId);
      await deps.store.destroy(toDocumentName(orgId, roomId));
    },
    async discardCopy(orgId, roomId) {
      if (!(await closeAndUnload(orgId, roomId))) return;
      if (await deps.roomExists(orgId, roomId)) {
        logger.info("A deleted room was created again before its copy here was dropped; its stored state is kept", { orgId, roomId });
        return;
      }
      await deps.store.destroy(toDocumentName(orgId, roomId));
    },
  };
}
