/**
 * The copies of each room document that this process holds, from the moment a load starts until
 * the copy is destroyed by its unload.
 *
 * Room deletion needs more than Hocuspocus' public `documents` map, which holds a document only
 * between the end of its load and the start of its destruction: a copy still loading would come
 * back with the deleted content, and its connections would write to it. Hocuspocus' own maps of
 * loading and unloading documents are not public API, so the persistence extension reports here —
 * it sees every load first (onLoadDocument, before reading the store) and last (afterLoadDocument at
 * the lowest priority, so reaching it means every other extension accepted the load). Unloads end
 * with the Y.Doc "destroy" event.
 *
 * A load that fails after onLoadDocument is never announced (see docs/architecture.md, "Hooks we
 * lack"). Hocuspocus runs one load of a name at a time, so when a new load of the name starts, every
 * earlier copy that never finished loading has failed and is forgotten.
 */
import type { Document } from "@hocuspocus/server";

export class DocumentCopies {
  private readonly byName = new Map<string, Set<Document>>();
  private readonly finished = new WeakSet<Document>();

  /** A load of `document` starts (before anything is read for it). */
  loading(document: Document): void {
    let copies = this.byName.get(document.name);
    if (!copies) {
      copies = new Set();
      this.byName.set(document.name, copies);
    }
    for (const earlier of copies) {
      if (!this.finished.has(earlier)) copies.delete(earlier);
    }
    copies.add(document);
    document.once("destroy", () => this.forget(document));
  }

  /** Every extension accepted the load: the copy is (about to be) in Hocuspocus' documents. */
  loaded(document: Document): void {
    this.finished.add(document);
  }

  /** The copy is gone: its load failed in our own hook, or it was destroyed. */
  forget(document: Document): void {
    const copies = this.byName.get(document.name);
    if (!copies?.delete(document)) return;
    if (copies.size === 0) this.byName.delete(document.name);
  }

  /** Copies of the document loading, loaded or unloading here; oldest first. */
  of(documentName: string): Document[] {
    return [...(this.byName.get(documentName) ?? [])];
  }

  has(documentName: string): boolean {
    return this.byName.has(documentName);
  }
}
