/**
 * The Hocuspocus instance, configured through its public options only. Addresses (Hocuspocus
 * writes the internal document name on every reply and broadcast) are rewritten by the socket edge
 * (collab-socket.ts, address-rewrite.ts), and timeouts are the edge's too (socket-edge.ts).
 */
import { Hocuspocus, type Extension } from "@hocuspocus/server";

/**
 * Hocuspocus' own connection timeout, out of the way: the socket edge closes idle and
 * unauthenticated sockets itself (4408, socket-edge.ts), counting awareness, which never reaches
 * Hocuspocus. This is the longest timer Node allows (~24.8 days; a longer one fires at once), so the
 * edge's timeout always fires first; only a socket that sent nothing but awareness for that long
 * would be closed by Hocuspocus, with the same 4408, and reconnect.
 */
export const HOCUSPOCUS_TIMEOUT_MS = 2 ** 31 - 1;

export interface RealtimeOptions {
  extensions: Extension[];
  debounceMs: number;
  maxDebounceMs: number;
}

export function createHocuspocus(options: RealtimeOptions): Hocuspocus {
  return new Hocuspocus({
    name: "syncforge",
    quiet: true,
    extensions: options.extensions,
    debounce: options.debounceMs,
    maxDebounce: options.maxDebounceMs,
    timeout: HOCUSPOCUS_TIMEOUT_MS,
    unloadImmediately: true,
  });
}
