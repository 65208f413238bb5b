/**
 * Writing comments into a Y.Doc the way a client SDK does (schema in server/domain/comments/schema.ts),
 * and crafting updates by hand for the raw-socket tests.
 */
import * as Y from "yjs";
import { COMMENTS, REACTIONS, THREADS, reactionKey, type CommentValue, type ThreadValue } from "../../protocol/comment-schema.ts";

let seq = 0;
export function nextId(prefix: string): string {
  seq += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${seq}`;
}

export function threadValue(id: string, createdBy: string, extra: Partial<ThreadValue> = {}): ThreadValue {
  return { id, createdBy, createdAt: Date.now(), anchor: null, resolved: false, resolvedBy: null, resolvedAt: null, metadata: {}, ...extra };
}

export function commentValue(id: string, threadId: string, authorId: string, body: string, extra: Partial<CommentValue> = {}): CommentValue {
  return { id, threadId, parentId: null, authorId, body, mentions: [], createdAt: Date.now(), editedAt: null, deletedAt: null, ...extra };
}

/** Create a thread with its first comment in one transaction; returns their ids. */
export function createThread(doc: Y.Doc, userId: string, body: string): { threadId: string; commentId: string } {
  const threadId = nextId("th");
  const commentId = nextId("cm");
  doc.transact(() => {
    doc.getMap(THREADS).set(threadId, threadValue(threadId, userId));
    doc.getMap(COMMENTS).set(commentId, commentValue(commentId, threadId, userId, body));
  });
  return { threadId, commentId };
}

export function addComment(doc: Y.Doc, userId: string, threadId: string, body: string, parentId: string | null = null): string {
  const id = nextId("cm");
  doc.getMap(COMMENTS).set(id, commentValue(id, threadId, userId, body, { parentId }));
  return id;
}

export function react(doc: Y.Doc, commentId: string, emoji: string, userId: string): void {
  doc.getMap(REACTIONS).set(reactionKey({ commentId, emoji, userId }), { at: Date.now() });
}

export function resolve(doc: Y.Doc, threadId: string, userId: string): void {
  const t = doc.getMap(THREADS).get(threadId) as ThreadValue;
  doc.getMap(THREADS).set(threadId, { ...t, resolved: true, resolvedBy: userId, resolvedAt: Date.now() });
}

/**
 * Copy `base` into a scratch document, apply `change` to it, and return only what the change
 * added: the update a malicious client would send.
 */
export function craftUpdate(base: Y.Doc, change: (doc: Y.Doc) => void): Uint8Array {
  const scratch = new Y.Doc();
  try {
    Y.applyUpdate(scratch, Y.encodeStateAsUpdate(base));
    const before = Y.encodeStateVector(scratch);
    change(scratch);
    return Y.encodeStateAsUpdate(scratch, before);
  } finally {
    scratch.destroy();
  }
}

/** Every comment-map value and text ever seen by a document, for "nobody ever saw it" checks. */
export function recordSeen(doc: Y.Doc): { values: unknown[]; texts: string[] } {
  const seen = { values: [] as unknown[], texts: [] as string[] };
  for (const root of [THREADS, COMMENTS, REACTIONS]) {
    doc.getMap(root).observe((event) => {
      for (const key of event.keysChanged) seen.values.push({ root, key, value: doc.getMap(root).get(key) ?? null });
    });
  }
  doc.getText("content").observe(() => seen.texts.push(doc.getText("content").toString()));
  return seen;
}
