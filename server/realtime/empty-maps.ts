/**
 * Maps that most sockets hold empty most of the time (the addresses still being authenticated or
 * read-restricted, messages held before an Auth, a presence member's pending states) share one
 * empty map until they get an entry, and return to it when their last entry goes: an empty Map
 * costs ≈ 180 bytes, which at thousands of idle connections per process was several of a
 * connection's kilobytes (scripts/bench/idle-memory.ts).
 *
 *   private held: ReadonlyMap<string, X> = EMPTY_MAP;
 *   this.held = setEntry(this.held, key, value);
 *   this.held = deleteEntry(this.held, key);
 */

const EMPTY = new Map<never, never>();

/** The shared empty map. Never written: setEntry gives a holder its own map first. */
export const EMPTY_MAP: ReadonlyMap<never, never> = EMPTY;

/** `map` with `key` set to `value`: `map` itself, or a new map in place of the shared empty one. */
export function setEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V): Map<K, V> {
  const own = map === (EMPTY as ReadonlyMap<unknown, unknown>) ? new Map<K, V>() : (map as Map<K, V>);
  own.set(key, value);
  return own;
}

/** `map` without `key`: the shared empty map once nothing is left. */
export function deleteEntry<K, V>(map: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> {
  if (map === (EMPTY as ReadonlyMap<unknown, unknown>)) return map;
  (map as Map<K, V>).delete(key);
  return map.size === 0 ? EMPTY_MAP : map;
}
