/**
 * Removing a room's document when the room is deleted, in the only safe order: close the live
 * connections (each socket is closed with 4404 room_deleted unless it carries other rooms), wait
 * until Hocuspocus has stored and unloaded the document, let the update log drain, and only then
 * delete the stored state. Deleting first would let the final store on unload resurrect it.
 * Other processes behind Redis keep their own copy until their clients leave.
 */
import type { Hocuspocus } from "@hocuspocus/server";
import type { DocumentStore } from "../domain/documents/document-store.ts";
import type { UpdateLog } from "../domain/documents/update-log.ts";
import type { SocketContext } from "./collab-socket.ts";
import { toDocumentName } from "./document-name.ts";
import { logger } from "../logger.ts";

export const ROOM_DELETED = { code: 4404, reason: "room_deleted" } as const;

export function createDocumentDestroyer(deps: {
  hocuspocus: () => Hocuspocus;
  store: DocumentStore;
  updateLog: UpdateLog;
  timeoutMs?: number;
}): (orgId: string, roomId: string) => Promise<void> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  return async (orgId, roomId) => {
    const hocuspocus = deps.hocuspocus();
    const name = toDocumentName(orgId, roomId);
    const deadline = Date.now() + timeoutMs;
    const loaded = () => hocuspocus.documents.has(name) || hocuspocus.loadingDocuments.has(name) || hocuspocus.unloadingDocuments.has(name);
    while (loaded() && Date.now() < deadline) {
      const document = hocuspocus.documents.get(name);
      if (document) {
        const sockets = document.getConnections().map((c) => (c.context as Partial<SocketContext>).socket);
        hocuspocus.closeConnections(name);
        for (const socket of sockets) socket?.refuse(name, ROOM_DELETED.code, ROOM_DELETED.reason);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (loaded()) logger.warn("A deleted room's document did not unload in time; deleting its state anyway", { orgId, roomId });
    await deps.updateLog.drain();
    await deps.store.destroy(name);
  };
}
