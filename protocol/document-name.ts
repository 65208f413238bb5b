/**
 * Document naming. Clients address a room by its plain id; on the server each room's document is
 * named after its organisation and room, so two organisations that both use room id "demo" never
 * share a document. The internal name starts with a control character that no client address may
 * contain, which lets the socket edge tell internal names from client ones with a one-byte check.
 */

export const INTERNAL_MARK = "\u0001";
const MARK_CODE = 1;

/** Room ids: 1–128 characters, no control characters and no "/" (LB allows 128). */
export const ROOM_ID_PATTERN = /^[^\u0000-\u001f\u007f/]{1,128}$/;

export function isValidRoomId(roomId: string): boolean {
  return ROOM_ID_PATTERN.test(roomId);
}

export function toDocumentName(orgId: string, roomId: string): string {
  return `${INTERNAL_MARK}${orgId}/${roomId}`;
}

export interface ParsedDocumentName {
  orgId: string;
  roomId: string;
}

/** Split an internal document name; null for anything that is not one. */
export function parseDocumentName(name: string): ParsedDocumentName | null {
  if (name.charCodeAt(0) !== MARK_CODE) return null;
  const slash = name.indexOf("/", 1);
  if (slash < 2) return null;
  return { orgId: name.slice(1, slash), roomId: name.slice(slash + 1) };
}

/** The address a client knows the document by: its plain room id. */
export function clientAddressOf(name: string): string {
  if (name.charCodeAt(0) !== MARK_CODE) return name;
  const slash = name.indexOf("/", 1);
  return slash === -1 ? name : name.slice(slash + 1);
}
