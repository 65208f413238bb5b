/**
 * User colours: one palette and one hash, shared by the server (which stamps `user.color` into
 * awareness) and the SDK (which shows me in the colour others see), so the two never disagree.
 */

/** Distinct, readable on white and dark backgrounds; chosen by a hash of the user id. */
export const USER_COLORS = [
  "#E57373", "#F06292", "#BA68C8", "#9575CD", "#7986CB", "#64B5F6",
  "#4FC3F7", "#4DB6AC", "#81C784", "#AED581", "#FFB74D", "#FF8A65",
] as const;

/** The same user id always gets the same colour, on every server and client (FNV-1a of the id). */
export function colorForUser(userId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return USER_COLORS[(hash >>> 0) % USER_COLORS.length]!;
}
