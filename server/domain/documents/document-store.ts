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
import { Transaction, UniqueConstraintError, type Sequelize } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Statement } from "../../../db/driver.ts";
import { SnapshotCache } from "./snapshot-cache.ts";
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

/** One row of LOAD: the snapshot (id null) or a log row. */
interface LoadRow {
  id: number | string | null;
  data: Buffer | null;
  version: number | null;
  created_at: unknown;
}

/** $1 the document, $2 and $3 the cached snapshot's version and created_at (-1 and null for none). */
const LOAD: Statement = {
  name: "document-store-load",
  text: `SELECT NULL AS id, CASE WHEN version = $2 AND created_at = $3 THEN NULL ELSE state END AS data, version, created_at
           FROM room_documents WHERE name = $1
         UNION ALL
         SELECT id, data, NULL, NULL FROM document_updates WHERE document_name = $1`,
};

/** Default budget of snapshots kept in memory for rooms joined again (snapshot-cache.ts). */
export const SNAPSHOT_CACHE_BYTES = 64 * 1024 * 1024;

export interface DocumentStoreOptions {
  /** Bytes of snapshots kept for the next load (0 turns the cache off). */
  snapshotCacheBytes?: number;
}

export class DocumentStore {
  private readonly db: Database;
  readonly writerId: string;
  /** Snapshots written or read last, for the next load of their document. */
  readonly snapshots: SnapshotCache;

  constructor(db: Database, writerId: string, options: DocumentStoreOptions = {}) {
    this.db = db;
    this.writerId = writerId;
    this.snapshots = new SnapshotCache(options.snapshotCacheBytes ?? SNAPSHOT_CACHE_BYTES);
  }

  private get sequelize(): Sequelize {
    return this.db.sequelize;
  }

  /**
   * Everything durable for the document: its snapshot and its log tail, in one statement, so both
   * come from one consistent snapshot of the database (PostgreSQL's statement snapshot, SQLite's
   * read transaction). Two reads could miss rows that a compaction in between (this process or
   * another) folded into the snapshot and deleted from the log. A snapshot this process holds
   * (snapshot-cache.ts) is not sent again: the statement returns it only when its version or row
   * differs from the cached one.
   */
  async load(documentName: string): Promise<LoadedDocument> {
    const cached = this.snapshots.get(documentName);
    const rows = await this.db.driver.query<LoadRow>(LOAD, [documentName, cached?.version ?? -1, cached?.createdAt ?? null]);
    let snapshot: LoadRow | undefined;
    const updates: LoadedDocument["updates"] = [];
    for (const row of rows) {
      if (row.id === null) snapshot = row;
      else updates.push({ id: Number(row.id), data: row.data! });
    }
    // UNION ALL promises no order: the log is applied in id order (replay's contract).
    updates.sort((a, b) => a.id - b.id);
    if (!snapshot) {
      this.snapshots.delete(documentName);
      return { state: null, version: 0, updates };
    }
    const version = Number(snapshot.version);
    let state: Uint8Array;
    if (snapshot.data === null && cached) {
      state = cached.state;
      this.snapshots.stats.hits += 1;
    } else {
      state = snapshot.data!;
      this.snapshots.stats.misses += 1;
      this.snapshots.set(documentName, { state, version, createdAt: snapshot.created_at });
    }
    return { state, version, updates };
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

  /**
   * Append updates in one INSERT; returns their ids in order. Through the driver (db/driver.ts),
   * not Sequelize: this is the hot path of every keystroke. PostgreSQL takes any number of rows in
   * one prepared statement (arrays unnested); SQLite one prepared statement per row count, each
   * row's name and data as parameters, the writer and time shared.
   */
  async append(entries: AppendEntry[]): Promise<number[]> {
    if (entries.length === 0) return [];
    if (this.db.dialect === "postgres") return this.appendPostgres(entries);
    const ids: number[] = [];
    for (let i = 0; i < entries.length; i += SQLITE_APPEND_ROWS) ids.push(...(await this.appendSqlite(entries.slice(i, i + SQLITE_APPEND_ROWS))));
    return ids;
  }

  private async appendPostgres(entries: AppendEntry[]): Promise<number[]> {
    const names = entries.map((e) => e.documentName);
    const data = entries.map((e) => Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
    const { rows } = await this.db.driver.run<{ id: string | number; document_name: string }>(APPEND_POSTGRES, [names, data, this.writerId, new Date()], {
      relaxedCommit: true,
    });
    if (rows.length !== entries.length) throw new Error(`appended ${rows.length} of ${entries.length} updates`);
    // PostgreSQL does not promise RETURNING rows in the order of the unnested arrays; a document's
    // rows are interchangeable here (each caller only needs one of its document's new ids), so
    // they are handed out per document name.
    const byName = new Map<string, number[]>();
    for (const row of rows) {
      const list = byName.get(row.document_name) ?? [];
      list.push(Number(row.id));
      byName.set(row.document_name, list);
    }
    for (const list of byName.values()) list.sort((a, b) => a - b);
    return names.map((name) => byName.get(name)!.shift()!);
  }

  private async appendSqlite(entries: AppendEntry[]): Promise<number[]> {
    // sqlite3 would store a bound Date as epoch milliseconds, which Sequelize's SQLite DATE parser
    // cannot read back; write the text form Sequelize itself writes there.
    const params: unknown[] = [this.writerId, sqliteDate(new Date())];
    for (const entry of entries) params.push(entry.documentName, Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
    const { changes, lastId } = await this.db.driver.run(sqliteAppend(entries.length), params, { urgent: true });
    if (changes !== entries.length || lastId === null) throw new Error(`appended ${changes} of ${entries.length} updates`);
    // One INSERT holds SQLite's write lock throughout: its rows get consecutive ids ending at lastId.
    return entries.map((_, i) => lastId - changes + 1 + i);
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
    let written: { state: Uint8Array; createdAt: Date } | undefined;
    const write = () => this.sequelize.transaction(async (transaction) => {
      const row = await RoomDocument.findByPk(documentName, {
        transaction,
        lock: this.db.dialect === "postgres" ? Transaction.LOCK.UPDATE : undefined,
      });
      let version: number;
      if (!row) {
        version = 1;
        const created = await RoomDocument.create(
          { name: documentName, orgId: parsed.orgId, roomId: parsed.roomId, state: Buffer.from(state), version },
          { transaction },
        );
        written = { state, createdAt: created.createdAt };
      } else {
        const next = row.version === baseVersion ? state : mergeStates(new Uint8Array(row.state), state);
        version = row.version + 1;
        await row.update({ state: Buffer.from(next), version }, { transaction });
        written = { state: next, createdAt: row.createdAt };
      }
      for (let i = 0; i < containedIds.length; i += 500) {
        await DocumentUpdate.destroy({ where: { id: containedIds.slice(i, i + 500) }, transaction });
      }
      return version;
    });
    let stored: number;
    for (let attempt = 1; ; attempt++) {
      try {
        stored = await write();
        break;
      } catch (error) {
        // On PostgreSQL, FOR UPDATE locks no row that does not exist yet: another process (or
        // this one) storing the same new document first makes our INSERT fail. Its row is
        // committed now; the next try finds it and merges into it.
        if (!(error instanceof UniqueConstraintError) || attempt === 3) throw error;
      }
    }
    // Committed: the next load of the document (a joiner after it unloads) need not read it back.
    // created_at as the driver will read it back (SQLite keeps Sequelize's text form).
    const createdAt = this.db.dialect === "sqlite" ? sqliteDate(written!.createdAt) : written!.createdAt;
    this.snapshots.set(documentName, { state: written!.state, version: stored, createdAt });
    return stored;
  }

  /** Remove a document's snapshot and log (when its room is deleted). */
  async destroy(documentName: string): Promise<void> {
    const { RoomDocument, DocumentUpdate } = this.db.models;
    this.snapshots.delete(documentName);
    await this.sequelize.transaction(async (transaction) => {
      await DocumentUpdate.destroy({ where: { documentName }, transaction });
      await RoomDocument.destroy({ where: { name: documentName }, transaction });
    });
  }
}

const APPEND_POSTGRES: Statement = {
  name: "update_log_append",
  text:
    "INSERT INTO document_updates (document_name, data, writer, created_at) " +
    "SELECT name, data, $3, $4 FROM unnest($1::text[], $2::bytea[]) AS appended(name, data) RETURNING id, document_name",
};

/** Rows per SQLite INSERT: one prepared statement per count up to this, two parameters a row. */
const SQLITE_APPEND_ROWS = 100;
const sqliteAppends = new Map<number, Statement>();

function sqliteAppend(rows: number): Statement {
  let statement = sqliteAppends.get(rows);
  if (!statement) {
    const values = Array.from({ length: rows }, (_, i) => `($${3 + 2 * i}, $${4 + 2 * i}, $1, $2)`).join(", ");
    statement = { name: `update_log_append_${rows}`, text: `INSERT INTO document_updates (document_name, data, writer, created_at) VALUES ${values}` };
    sqliteAppends.set(rows, statement);
  }
  return statement;
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
