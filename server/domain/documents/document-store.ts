/**
 * Storage of room documents: a compacted snapshot per document and an append-only update log.
 *
 * Writers append every update to the log before it is applied and broadcast, so nothing a client
 * has seen can be lost by a crash. Compaction folds the in-memory document into the snapshot and
 * deletes exactly the log rows that the caller knows to be contained in it. Several processes may
 * serve one document (Redis): a snapshot write whose base version is not the stored one is merged
 * with the stored snapshot instead of overwriting it, so no process erases another's state.
 */
import * as Y from "yjs";
import { QueryTypes, Transaction, type Sequelize } from "sequelize";
import type { Database } from "../../../db/index.ts";
import { parseDocumentName } from "../../../protocol/document-name.ts";
import { logger } from "../../logger.ts";

export interface LoadedDocument {
  state: Uint8Array | null;
  version: number;
  updates: Array<{ id: number; data: Uint8Array }>;
}

/** What a replay applied: the log rows read (ids), the snapshot's version, rows Yjs could not read. */
export interface Replayed {
  version: number;
  rowIds: number[];
  skipped: number;
}

export interface AppendEntry {
  documentName: string;
  data: Uint8Array;
}

export class DocumentStore {
  private readonly db: Database;
  readonly writerId: string;

  constructor(db: Database, writerId: string) {
    this.db = db;
    this.writerId = writerId;
  }

  private get sequelize(): Sequelize {
    return this.db.sequelize;
  }

  async load(documentName: string): Promise<LoadedDocument> {
    const { RoomDocument, DocumentUpdate } = this.db.models;
    // The log first, then the snapshot: a compaction (this process or another) that commits in
    // between moves rows into the snapshot read after it, so nothing durable is missed. Snapshot
    // first could miss exactly those rows: read before they were folded in, deleted before the log.
    const updates = await DocumentUpdate.findAll({
      where: { documentName },
      attributes: ["id", "data"],
      order: [["id", "ASC"]],
    });
    const row = await RoomDocument.findByPk(documentName, { attributes: ["state", "version"] });
    return {
      state: row ? new Uint8Array(row.state) : null,
      version: row?.version ?? 0,
      updates: updates.map((u) => ({ id: Number(u.id), data: new Uint8Array(u.data) })),
    };
  }

  /**
   * Apply everything durable for the document (snapshot, then the log tail in id order) to `doc`,
   * in one place for loading, the comment guard's catch-up and reads of unloaded rooms. Yjs updates
   * are idempotent, so rows also in the snapshot, or already in `doc`, do no harm. A row Yjs cannot
   * read is skipped (it was refused when it arrived too) and counted; its id is still returned, so
   * the next compaction drops it.
   */
  async replay(documentName: string, doc: Y.Doc, options: { origin?: unknown } = {}): Promise<Replayed> {
    const loaded = await this.load(documentName);
    const { origin } = options;
    if (loaded.state) Y.applyUpdate(doc, loaded.state, origin);
    let skipped = 0;
    for (const row of loaded.updates) {
      try {
        Y.applyUpdate(doc, row.data, origin);
      } catch {
        skipped += 1;
      }
    }
    if (skipped > 0) logger.warn("Skipped unreadable logged updates while replaying a document", { documentName, skipped });
    return { version: loaded.version, rowIds: loaded.updates.map((u) => u.id), skipped };
  }

  /** Append updates in one INSERT; returns their ids in order. */
  async append(entries: AppendEntry[]): Promise<number[]> {
    if (entries.length === 0) return [];
    // sqlite3 would store a bound Date as epoch milliseconds, which Sequelize's SQLite DATE parser
    // cannot read back; write the text form Sequelize itself writes there.
    const now: Date | string = this.db.dialect === "sqlite" ? sqliteDate(new Date()) : new Date();
    const values: string[] = [];
    const bind: unknown[] = [];
    for (const entry of entries) {
      const n = bind.length;
      values.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4})`);
      bind.push(entry.documentName, Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength), this.writerId, now);
    }
    const sql = `INSERT INTO document_updates (document_name, data, writer, created_at) VALUES ${values.join(", ")}`;
    if (this.db.dialect === "sqlite") {
      // Sequelize's SQLite dialect runs any "INSERT INTO …" with sqlite3's run(), which returns no
      // rows, so RETURNING ids would come back undefined (every append failed on SQLite). SQLite
      // executes one statement at a time and AUTOINCREMENT gives one statement's rows consecutive
      // ids, so they are lastID - changes + 1 … lastID (as Sequelize's own bulkCreate computes).
      const [lastId, changes] = (await this.sequelize.query(sql, { bind, type: QueryTypes.INSERT })) as unknown as [number, number];
      if (changes !== entries.length) throw new Error(`appended ${changes} of ${entries.length} updates`);
      return entries.map((_, i) => Number(lastId) - changes + 1 + i);
    }
    const rows = await this.sequelize.query<{ id: number | string }>(`${sql} RETURNING id`, { bind, type: QueryTypes.SELECT });
    return rows.map((r) => Number(r.id));
  }

  /**
   * Write `state` as the document's snapshot and delete the given log rows, atomically. When the
   * stored version is not `baseVersion`, another writer has stored since: merge instead.
   * Returns the new version.
   */
  async compact(documentName: string, state: Uint8Array, baseVersion: number, containedIds: number[]): Promise<number> {
    const parsed = parseDocumentName(documentName);
    if (!parsed) throw new Error("compact() needs an internal document name");
    const { RoomDocument, DocumentUpdate } = this.db.models;
    // On SQLite the transaction takes its turn at the process' one writer and the write lock at
    // BEGIN (db/sqlite-sequelize.ts), so reading the row first cannot fail with SQLITE_BUSY.
    return this.sequelize.transaction(async (transaction) => {
      const row = await RoomDocument.findByPk(documentName, {
        transaction,
        lock: this.db.dialect === "postgres" ? Transaction.LOCK.UPDATE : undefined,
      });
      let version: number;
      if (!row) {
        version = 1;
        await RoomDocument.create(
          { name: documentName, orgId: parsed.orgId, roomId: parsed.roomId, state: Buffer.from(state), version },
          { transaction },
        );
      } else {
        const next = row.version === baseVersion ? state : mergeStates(new Uint8Array(row.state), state);
        version = row.version + 1;
        await row.update({ state: Buffer.from(next), version }, { transaction });
      }
      for (let i = 0; i < containedIds.length; i += 500) {
        await DocumentUpdate.destroy({ where: { id: containedIds.slice(i, i + 500) }, transaction });
      }
      return version;
    });
  }

  /** Remove a document's snapshot and log (when its room is deleted). */
  async destroy(documentName: string): Promise<void> {
    const { RoomDocument, DocumentUpdate } = this.db.models;
    await this.sequelize.transaction(async (transaction) => {
      await DocumentUpdate.destroy({ where: { documentName }, transaction });
      await RoomDocument.destroy({ where: { name: documentName }, transaction });
    });
  }
}

function sqliteDate(date: Date): string {
  return `${date.toISOString().replace("T", " ").replace("Z", "")} +00:00`;
}

/** The union of two document states, garbage-collected. */
export function mergeStates(a: Uint8Array, b: Uint8Array): Uint8Array {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, a);
    Y.applyUpdate(doc, b);
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}
