/**
 * Nothing leaves a socket before what it may carry is durable.
 *
 * A client's document update is appended to the update log (extensions/persistence.ts) and applied
 * at once, without waiting for the commit: a connection's next message, and every other
 * connection's, is handled meanwhile, and all of one turn's appends share one commit
 * (update-log.ts). What must wait is everything that could tell anyone the update exists — the
 * broadcast to the room, the sender's acknowledgement (SyncStatus), a joiner's sync reply — so
 * every message the edge sends is stamped with the log's latest append number and goes out once
 * the log is durable up to it. A socket with nothing held and nothing pending sends at once.
 * Messages wait in order per socket; presence messages, which carry nothing of the document, wait
 * only behind held document messages, never overtaking them.
 *
 * A kill -9 between the append and its commit therefore loses only updates nobody was told of: the
 * sender still counts them unsynced and sends them again in its reconnect sync. When the log cannot
 * commit (database down), it retries; sockets hold their messages meanwhile, and one whose oldest
 * held message has waited `holdTimeoutMs`, or that holds more than `maxHeldBytes`, is closed with
 * 1013 (try again later): its provider reconnects once the database is back.
 */
import type { UpdateLog } from "../domain/documents/update-log.ts";

/** What a socket that holds messages must do when the log commits or the wait is too long. */
export interface HoldingSocket {
  /** Send what the log is now durable for; true when nothing is held any more. */
  release(durable: number): boolean;
  /** Held since (performance.now()) its oldest message; null when nothing is held. */
  heldSince(): number | null;
  /** The log did not commit in time: drop what is held and close (1013). */
  abandon(): void;
}

export interface DurableOutboundOptions {
  holdTimeoutMs: number;
  maxHeldBytes: number;
}

export const DEFAULT_HOLD_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_HELD_BYTES = 16 * 1024 * 1024;

/** The log's numbers as the edge reads them: an UpdateLog, or a log that is always durable (no persistence). */
export interface DurabilitySource {
  readonly appended: number;
  readonly durable: number;
  onCommitted(listener: (durable: number) => void): void;
}

/** No update log: everything is durable at once (edge unit tests, a server without persistence). */
export const ALWAYS_DURABLE: DurabilitySource = { appended: 0, durable: 0, onCommitted: () => {} };

export class DurableOutbound {
  readonly holdTimeoutMs: number;
  readonly maxHeldBytes: number;
  private readonly log: DurabilitySource;
  private readonly waiting = new Set<HoldingSocket>();
  private timer: NodeJS.Timeout | null = null;

  constructor(log: DurabilitySource | UpdateLog, options: Partial<DurableOutboundOptions> = {}) {
    this.log = log;
    this.holdTimeoutMs = options.holdTimeoutMs ?? DEFAULT_HOLD_TIMEOUT_MS;
    this.maxHeldBytes = options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
    log.onCommitted((durable) => this.release(durable));
  }

  /** The number a message sent now waits for. */
  get appended(): number {
    return this.log.appended;
  }

  get durable(): number {
    return this.log.durable;
  }

  /** A socket started holding: it is released at the next commit that covers its messages. */
  hold(socket: HoldingSocket): void {
    this.waiting.add(socket);
    // Armed by the first holder and left to lapse once nobody holds: no timer while idle, one
    // check per timeout under load.
    if (this.timer === null) this.timer = setTimeout(this.sweep, this.holdTimeoutMs).unref();
  }

  /** Sockets holding messages now (metrics, tests). */
  get holding(): number {
    return this.waiting.size;
  }

  private release(durable: number): void {
    for (const socket of this.waiting) {
      if (socket.release(durable)) this.waiting.delete(socket);
    }
  }

  private readonly sweep = (): void => {
    this.timer = null;
    const now = performance.now();
    let oldest = Number.POSITIVE_INFINITY;
    for (const socket of this.waiting) {
      const since = socket.heldSince();
      if (since === null) {
        this.waiting.delete(socket);
      } else if (now - since >= this.holdTimeoutMs) {
        this.waiting.delete(socket);
        socket.abandon();
      } else {
        oldest = Math.min(oldest, since);
      }
    }
    if (this.waiting.size > 0) this.timer = setTimeout(this.sweep, Math.max(1, oldest + this.holdTimeoutMs - now)).unref();
  };
}
