/**
 * Removing a room's document when the room is deleted, in the only safe order: mark every copy of
 * it in this process as discarded (also one still loading, DocumentCopies), so that no copy stores
 * anything again; close the live connections (each with 4404 room_deleted, on /collab and /yjs; a
 * /collab socket carrying other rooms stays open), also those of a copy that finishes loading
 * meanwhile; wait until every copy has been unloaded and destroyed, let the update log drain, and
 * only then delete the stored state. Deleting first would let a final store on unload, or a load
 * that read the state just before, resurrect it.
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
import type { DocumentCopies } from "./document-copies.ts";
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
  /** The persistence extension: a discarded document stores nothing again. */
  persistence: { discard(document: Document): void };
  /** Every copy of a document in this process, loading to destroyed. */
  copies: DocumentCopies;
  /** Whether the room exists (again): another process then leaves the stored state alone. */
  roomExists: (orgId: string, roomId: string) => Promise<boolean>;
  timeoutMs?: number;
}): DocumentDestroyer {
  const timeoutMs = deps.timeoutMs ?? 10_000;

  /** Close and unload every copy of the document; false when this process had none at all. */
  async function closeAndUnload(orgId: string, roomId: string): Promise<boolean> {
    const hocuspocus = deps.hocuspocus();
    const name = toDocumentName(orgId, roomId);
    if (!deps.copies.has(name)) return false;
    const deadline = Date.now() + timeoutMs;
    while (deps.copies.has(name) && Date.now() < deadline) {
      for (const copy of deps.copies.of(name)) deps.persistence.discard(copy);
      const document = hocuspocus.documents.get(name);
      for (const connection of document?.getConnections() ?? []) {
        const socket = (connection.context as Partial<SocketContext>).socket;
        connection.close({ code: ROOM_DELETED.code, reason: ROOM_DELETED.reason });
        socket?.refuse(name, ROOM_DELETED.code, ROOM_DELETED.reason);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (deps.copies.has(name)) logger.warn("A deleted room's document did not unload in time; deleting its state anyway", { orgId, roomId });
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
