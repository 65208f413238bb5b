/**
 * The comment schema inside a room's Yjs document. Three top-level Y.Maps whose values are plain
 * JSON (one ContentAny per key, never a nested shared type), so the server can check every write
 * by looking at single items (server/domain/comments/update-guard.ts):
 *
 *   sf:threads    threadId → ThreadValue
 *   sf:comments   commentId → CommentValue
 *   sf:reactions  `${commentId}|${emoji}|${userId}` → ReactionValue
 *
 * A value is replaced whole (Y.Map set); editing a comment sets a new object under the same key.
 * The full description for client authors is docs/comments.md.
 */

export const THREADS = "sf:threads";
export const COMMENTS = "sf:comments";
export const REACTIONS = "sf:reactions";
export const COMMENT_ROOTS: readonly string[] = [THREADS, COMMENTS, REACTIONS];

export const MAX_BODY_CHARS = 10_000;
export const MAX_ID_CHARS = 128;
export const MAX_EMOJI_CHARS = 32;
export const MAX_MENTIONS = 50;
/** Liveblocks' limits on metadata: 50 properties, 40-character keys, 4000-character values. */
export const MAX_METADATA_KEYS = 50;
export const MAX_METADATA_KEY_CHARS = 40;
export const MAX_METADATA_VALUE_CHARS = 4000;

export interface TextAnchor {
  /** The name of the top-level Y.Text (or Y.XmlFragment) the positions point into. */
  field: string;
  /** Y.RelativePosition JSON (Y.relativePositionToJSON), so the anchor follows concurrent edits. */
  start: unknown;
  end: unknown;
}

export interface ThreadAnchor {
  elementId?: string;
  text?: TextAnchor;
}

export type Metadata = Record<string, string | number | boolean>;

export interface ThreadValue {
  id: string;
  createdBy: string;
  createdAt: number;
  anchor: ThreadAnchor | null;
  resolved: boolean;
  resolvedBy: string | null;
  resolvedAt: number | null;
  metadata: Metadata;
}

export interface CommentValue {
  id: string;
  threadId: string;
  parentId: string | null;
  authorId: string;
  body: string;
  mentions: string[];
  createdAt: number;
  editedAt: number | null;
  deletedAt: number | null;
}

export interface ReactionValue {
  at: number;
}

export interface ReactionKey {
  commentId: string;
  emoji: string;
  userId: string;
}

export function reactionKey(key: ReactionKey): string {
  return `${key.commentId}|${key.emoji}|${key.userId}`;
}

/** Comment ids and emoji never contain "|"; the user id is everything after the second one. */
export function parseReactionKey(key: string): ReactionKey | null {
  const a = key.indexOf("|");
  const b = a === -1 ? -1 : key.indexOf("|", a + 1);
  if (a < 1 || b < a + 2 || b === key.length - 1) return null;
  const parsed = { commentId: key.slice(0, a), emoji: key.slice(a + 1, b), userId: key.slice(b + 1) };
  if (parsed.emoji.length > MAX_EMOJI_CHARS || parsed.userId.length > MAX_ID_CHARS || parsed.commentId.length > MAX_ID_CHARS) return null;
  return parsed;
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
const isStr = (v: unknown, max = MAX_ID_CHARS): v is string => typeof v === "string" && v.length >= 1 && v.length <= max;
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isTimeOrNull = (v: unknown): boolean => v === null || isTime(v);

export function isValidMetadata(v: unknown): v is Metadata {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  if (keys.length > MAX_METADATA_KEYS) return false;
  for (const k of keys) {
    if (k.length > MAX_METADATA_KEY_CHARS) return false;
    const value = v[k];
    if (typeof value === "string" ? value.length > MAX_METADATA_VALUE_CHARS : typeof value !== "number" && typeof value !== "boolean") return false;
  }
  return true;
}

function isValidAnchor(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (!isObject(v)) return false;
  if (v.elementId !== undefined && !isStr(v.elementId, 256)) return false;
  if (v.text !== undefined) {
    const t = v.text;
    if (!isObject(t) || !isStr(t.field, 128) || !isObject(t.start) || !isObject(t.end)) return false;
    if (JSON.stringify(t).length > 2048) return false;
  }
  return true;
}

/** Shape check of a thread value stored under `key`; null when valid, else what is wrong. */
export function threadProblem(key: string, v: unknown): string | null {
  if (!ID.test(key)) return "thread id must be 1-128 characters of [A-Za-z0-9_-]";
  if (!isObject(v)) return "thread must be an object";
  if (v.id !== key) return "thread id must equal its key";
  if (!isStr(v.createdBy) || !isTime(v.createdAt)) return "thread needs createdBy and createdAt";
  if (!isValidAnchor(v.anchor)) return "invalid thread anchor";
  if (typeof v.resolved !== "boolean" || !isTimeOrNull(v.resolvedAt)) return "invalid resolved fields";
  if (v.resolved ? !isStr(v.resolvedBy) || v.resolvedAt === null : v.resolvedBy !== null || v.resolvedAt !== null) return "invalid resolved fields";
  if (!isValidMetadata(v.metadata)) return "invalid thread metadata";
  return null;
}

export function commentProblem(key: string, v: unknown): string | null {
  if (!ID.test(key)) return "comment id must be 1-128 characters of [A-Za-z0-9_-]";
  if (!isObject(v)) return "comment must be an object";
  if (v.id !== key) return "comment id must equal its key";
  if (!isStr(v.threadId) || !ID.test(v.threadId)) return "comment needs a threadId";
  if (v.parentId !== null && !(isStr(v.parentId) && ID.test(v.parentId))) return "invalid parentId";
  if (!isStr(v.authorId)) return "comment needs an authorId";
  if (typeof v.body !== "string" || v.body.length > MAX_BODY_CHARS) return "comment body must be a string of at most 10000 characters";
  if (!Array.isArray(v.mentions) || v.mentions.length > MAX_MENTIONS || !v.mentions.every((m) => isStr(m))) return "invalid mentions";
  if (!isTime(v.createdAt) || !isTimeOrNull(v.editedAt) || !isTimeOrNull(v.deletedAt)) return "invalid comment times";
  return null;
}

export function reactionProblem(key: string, v: unknown): string | null {
  const parsed = parseReactionKey(key);
  if (!parsed || !ID.test(parsed.commentId)) return "reaction key must be commentId|emoji|userId";
  if (!isObject(v) || !isTime(v.at)) return "reaction must be { at }";
  return null;
}

const MENTION = /(?:^|[^\w@])@([A-Za-z0-9][A-Za-z0-9._:-]{0,127})/g;

/** Users a comment mentions: its `mentions` list plus every `@userId` in the body. */
export function mentionsOf(comment: Pick<CommentValue, "body" | "mentions">): string[] {
  const found = new Set(comment.mentions ?? []);
  for (const m of comment.body.matchAll(MENTION)) found.add(m[1]!.replace(/[.:-]+$/, ""));
  found.delete("");
  return [...found];
}
