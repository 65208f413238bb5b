/**
 * Keyset pagination cursors: (createdAt, id) of the last row of a page, opaque to clients. A page
 * boundary never shifts when rows are added, unlike offsets.
 */
import { BadRequestError } from "../errors.ts";

export function encodeCursor(at: Date, id: string | number): string {
  return Buffer.from(JSON.stringify([at.toISOString(), String(id)])).toString("base64url");
}

export function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const date = new Date(at);
    // No row id holds a control character, and a NUL fails in SQLite.
    if (typeof id !== "string" || /[\u0000-\u001f\u007f]/.test(id) || Number.isNaN(date.getTime())) throw new Error("bad cursor");
    return { at: date, id };
  } catch {
    throw new BadRequestError("The cursor is invalid", "invalid_cursor");
  }
}
