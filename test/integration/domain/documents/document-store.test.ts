/**
 * DocumentStore against real databases: appends return the ids of the rows they wrote, compaction
 * deletes exactly the rows it is given, and a snapshot written from a stale version is merged with
 * the stored one, so one process's snapshot never erases another's edits.
 */
import { expect } from "chai";
import * as Y from "yjs";
import { DocumentStore } from "../../../../server/domain/documents/document-store.ts";
import { toDocumentName } from "../../../../protocol/document-name.ts";
import { migrate } from "../../../../db/migrator.ts";
import type { Database } from "../../../../db/index.ts";
import { ensureTestDatabase, testDatabaseUrl, tempSqliteUrl, truncateAll } from "../../../helpers/database.ts";
import { openDatabase } from "../../../helpers/documents.ts";

const NAME = toDocumentName("org-test", "store");

function textUpdate(text: string, base?: Y.Doc): Uint8Array {
  const doc = new Y.Doc();
  if (base) Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  doc.getText("content").insert(0, text);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

function textOf(state: Uint8Array | null): string {
  const doc = new Y.Doc();
  if (state) Y.applyUpdate(doc, state);
  const text = doc.getText("content").toString();
  doc.destroy();
  return text;
}

for (const dialect of ["PostgreSQL", "SQLite"]) {
  describe(`DocumentStore on ${dialect}`, () => {
    let db: Database;

    before(async () => {
      let url = tempSqliteUrl();
      if (dialect === "PostgreSQL") {
        await ensureTestDatabase();
        url = testDatabaseUrl();
      }
      db = openDatabase(url);
      await migrate(db.sequelize);
    });
    beforeEach(async () => {
      if (dialect === "PostgreSQL") return truncateAll();
      await db.models.DocumentUpdate.destroy({ where: {} });
      await db.models.RoomDocument.destroy({ where: {} });
    });
    after(() => db?.close());

    it("returns the ids of the appended rows, in order", async () => {
      const store = new DocumentStore(db, "writer-1");
      const first = await store.append([{ documentName: NAME, data: textUpdate("a") }]);
      const ids = await store.append([
        { documentName: NAME, data: textUpdate("b") },
        { documentName: toDocumentName("org-test", "other"), data: textUpdate("c") },
        { documentName: NAME, data: textUpdate("d") },
      ]);
      expect(ids).to.have.length(3);
      expect(ids[0]).to.be.greaterThan(first[0]!);
      const rows = await db.models.DocumentUpdate.findAll({ order: [["id", "ASC"]] });
      expect(rows.map((r) => Number(r.id))).to.deep.equal([first[0], ...ids]);
      expect(rows.map((r) => textOf(new Uint8Array(r.data)))).to.deep.equal(["a", "b", "c", "d"]);
      expect(rows.every((r) => r.writer === "writer-1" && r.createdAt instanceof Date && !Number.isNaN(r.createdAt.getTime()))).to.equal(true);
    });

    it("appends more rows than one statement takes, each id naming the row of its own entry", async () => {
      const store = new DocumentStore(db, "writer-1");
      const other = toDocumentName("org-test", "other");
      const entries = Array.from({ length: 250 }, (_, i) => ({ documentName: i % 3 === 0 ? other : NAME, data: textUpdate(`u${i}`) }));
      const ids = await store.append(entries);
      expect(new Set(ids).size).to.equal(250);
      const rows = await db.models.DocumentUpdate.findAll();
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      ids.forEach((id, i) => {
        const row = byId.get(id)!;
        expect(row.documentName, `entry ${i}`).to.equal(entries[i]!.documentName);
        expect(textOf(new Uint8Array(row.data)), `entry ${i}`).to.equal(`u${i}`);
      });
    });

    it("loads the snapshot and the log tail, and compaction deletes only the rows it is given", async () => {
      const store = new DocumentStore(db, "writer-1");
      const [kept] = await store.append([{ documentName: NAME, data: textUpdate("tail") }]);
      const [contained] = await store.append([{ documentName: NAME, data: textUpdate("in-snapshot") }]);
      const version = await store.compact(NAME, textUpdate("in-snapshot"), 0, [contained!]);
      expect(version).to.equal(1);
      const loaded = await store.load(NAME);
      expect(loaded.version).to.equal(1);
      expect(textOf(loaded.state)).to.equal("in-snapshot");
      expect(loaded.updates.map((u) => u.id)).to.deep.equal([kept]);
    });

    it("loads everything durable while another process keeps compacting the log into the snapshot", async () => {
      const loader = new DocumentStore(db, "process-1");
      const compactor = new DocumentStore(db, "process-2");
      // The other process appends a row and folds it into the snapshot, over and over. A load that
      // read the snapshot and the log at different moments could see a row in neither (read from
      // the snapshot before it was folded in, gone from the log by the time the log is read).
      const source = new Y.Doc();
      const text = source.getText("content");
      let version = 0;
      let appended = 0;
      let running = true;
      const compacting = (async () => {
        while (running) {
          const before = Y.encodeStateVector(source);
          text.insert(text.length, `${appended},`);
          const [id] = await compactor.append([{ documentName: NAME, data: Y.encodeStateAsUpdate(source, before) }]);
          appended += 1;
          version = await compactor.compact(NAME, Y.encodeStateAsUpdate(source), version, [id!]);
        }
      })();
      try {
        for (let i = 0; i < 40 || appended < 10; i++) {
          const durable = appended;
          const loaded = await loader.load(NAME);
          const doc = new Y.Doc();
          if (loaded.state) Y.applyUpdate(doc, loaded.state);
          for (const update of loaded.updates) Y.applyUpdate(doc, update.data);
          const seen = doc.getText("content").toString().split(",").filter(Boolean).length;
          doc.destroy();
          expect(seen, `load ${i}`).to.be.at.least(durable);
        }
      } finally {
        running = false;
        await compacting;
      }
      source.destroy();
    });

    it("loads a snapshot it holds without reading it again, and reads it when it changed in the database", async () => {
      const one = new DocumentStore(db, "process-1");
      const two = new DocumentStore(db, "process-2");
      await one.compact(NAME, textUpdate("from process one "), 0, []);
      expect(textOf((await one.load(NAME)).state)).to.equal("from process one ");
      expect(one.snapshots.stats).to.deep.equal({ hits: 1, misses: 0 });
      // Another process stores the document: the cached snapshot is stale and must not be used.
      await two.compact(NAME, textUpdate("from process two "), 0, []);
      const text = textOf((await one.load(NAME)).state);
      expect(text).to.contain("from process one");
      expect(text).to.contain("from process two");
      expect(one.snapshots.stats).to.deep.equal({ hits: 1, misses: 1 });
      // What it read is held for the next load.
      expect(textOf((await one.load(NAME)).state)).to.equal(text);
      expect(one.snapshots.stats).to.deep.equal({ hits: 2, misses: 1 });
    });

    it("does not take a snapshot row recreated after a room deletion for the one it holds", async () => {
      const one = new DocumentStore(db, "process-1");
      const two = new DocumentStore(db, "process-2");
      expect(await one.compact(NAME, textUpdate("before the deletion"), 0, [])).to.equal(1);
      // Another process deletes the room's document, and the room is created and stored again:
      // the new row has the same version, 1.
      await two.destroy(NAME);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await two.compact(NAME, textUpdate("after the deletion"), 0, [])).to.equal(1);
      const loaded = await one.load(NAME);
      expect(loaded.version).to.equal(1);
      expect(textOf(loaded.state)).to.equal("after the deletion");
      // A deleted document loads empty, cached or not.
      await two.destroy(NAME);
      expect(await one.load(NAME)).to.deep.equal({ state: null, version: 0, updates: [] });
    });

    it("replays the snapshot and the log tail into a document, skipping rows Yjs cannot read", async () => {
      const store = new DocumentStore(db, "writer-1");
      const base = new Y.Doc();
      Y.applyUpdate(base, textUpdate("snapshot "));
      await store.compact(NAME, Y.encodeStateAsUpdate(base), 0, []);
      const [tail] = await store.append([{ documentName: NAME, data: textUpdate("tail ", base) }]);
      const [garbage] = await store.append([{ documentName: NAME, data: new Uint8Array([255, 255, 255]) }]);
      const doc = new Y.Doc();
      const origins = new Set<unknown>();
      doc.on("update", (_update: Uint8Array, origin: unknown) => origins.add(origin));
      const origin = { source: "test" };
      const replayed = await store.replay(NAME, doc, { origin });
      expect(doc.getText("content").toString()).to.equal("tail snapshot ");
      expect(replayed).to.deep.equal({ version: 1, rowIds: [tail, garbage], skipped: 1 });
      expect([...origins]).to.deep.equal([origin]);
      base.destroy();
      doc.destroy();
    });

    it("merges a snapshot written from a stale version instead of overwriting", async () => {
      const one = new DocumentStore(db, "process-1");
      const two = new DocumentStore(db, "process-2");
      // Both processes loaded the empty document (version 0); process 1 stores first.
      const v1 = await one.compact(NAME, textUpdate("from process one "), 0, []);
      expect(v1).to.equal(1);
      // Process 2 never saw process 1's edit; its snapshot must not erase it.
      const v2 = await two.compact(NAME, textUpdate("from process two "), 0, []);
      expect(v2).to.equal(2);
      const text = textOf((await one.load(NAME)).state);
      expect(text).to.contain("from process one");
      expect(text).to.contain("from process two");
      // A writer whose base is the stored version replaces the snapshot (no needless merge).
      const v3 = await two.compact(NAME, textUpdate("replaced"), 2, []);
      expect(v3).to.equal(3);
      expect(textOf((await two.load(NAME)).state)).to.equal("replaced");
    });

    it("two processes storing a new document at the same moment both succeed, and its snapshot holds both (20 documents)", async () => {
      const one = new DocumentStore(db, "process-1");
      const two = new DocumentStore(db, "process-2");
      for (let i = 0; i < 20; i++) {
        const name = toDocumentName("org-test", `race-${i}`);
        // Neither has seen a stored row (version 0): both insert it.
        const versions = await Promise.all([one.compact(name, textUpdate("first "), 0, []), two.compact(name, textUpdate("second "), 0, [])]);
        expect(versions.sort()).to.deep.equal([1, 2]);
        const text = textOf((await one.load(name)).state);
        expect(text).to.contain("first");
        expect(text).to.contain("second");
      }
    });

    it("compacts while the update log is being appended to, without lock errors", async () => {
      const store = new DocumentStore(db, "writer-1");
      const failures: unknown[] = [];
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        work.push(store.append([{ documentName: NAME, data: textUpdate(`a${i}`) }]).catch((e) => failures.push(e)));
        if (i % 3 === 0) work.push(store.compact(NAME, textUpdate(`s${i}`), i / 3, []).catch((e) => failures.push(e)));
      }
      await Promise.all(work);
      expect(failures.map((e) => (e as Error).message)).to.deep.equal([]);
    });
  });
}
