/**
 * Looking at stored room documents directly in the database (PostgreSQL or SQLite), bypassing the
 * server: the snapshot row, the update log rows, and the document they rebuild together.
 */
import * as Y from "yjs";
import { createDatabase, type Database } from "../../db/index.ts";
import { toDocumentName } from "../../protocol/document-name.ts";

export interface StoredDocument {
  snapshot: Uint8Array | null;
  version: number;
  log: Array<{ id: number; data: Uint8Array; writer: string }>;
}

/** Open the database a test server uses (its tables must already exist). */
export function openDatabase(url: string): Database {
  return createDatabase({ url, poolMax: 2, ssl: false });
}

export async function readStored(db: Database, orgId: string, roomId: string): Promise<StoredDocument> {
  const name = toDocumentName(orgId, roomId);
  // The log before the snapshot, as DocumentStore.load does: a compaction committing in between
  // cannot then hide rows (read the snapshot first and they can be in neither).
  const rows = await db.models.DocumentUpdate.findAll({ where: { documentName: name }, order: [["id", "ASC"]] });
  const row = await db.models.RoomDocument.findByPk(name);
  return {
    snapshot: row ? new Uint8Array(row.state) : null,
    version: row?.version ?? 0,
    log: rows.map((r) => ({ id: Number(r.id), data: new Uint8Array(r.data), writer: r.writer })),
  };
}

/** Poll the database until the room's stored state satisfies `done` (or the time is up; then as it is). */
export async function readStoredWhen(
  db: Database,
  orgId: string,
  roomId: string,
  done: (stored: StoredDocument) => boolean,
  timeoutMs = 5000,
): Promise<StoredDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = await readStored(db, orgId, roomId);
    if (done(stored) || Date.now() > deadline) return stored;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The text the stored snapshot alone holds ("" when there is none). */
export function snapshotText(stored: StoredDocument, field = "content"): string {
  const doc = new Y.Doc();
  try {
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    return doc.getText(field).toString();
  } finally {
    doc.destroy();
  }
}

/** The text snapshot + log rebuild, the way the server loads a document. */
export function storedText(stored: StoredDocument, field = "content"): string {
  const doc = new Y.Doc();
  try {
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
    for (const row of stored.log) Y.applyUpdate(doc, row.data);
    return doc.getText(field).toString();
  } finally {
    doc.destroy();
  }
}
