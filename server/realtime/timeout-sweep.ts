/**
 * The socket edge's timeouts (socket-edge.ts) on one timer per server rather than one per socket.
 * A Node timer is ≈ 250 bytes with its callback, kept for every idle connection; here a socket is a
 * set entry, and every tenth of the timeout the sweep asks each socket whether its deadline has
 * passed. A socket is therefore closed between `timeoutMs` and 1.1 × `timeoutMs` after its deadline's
 * start (opening, or its last message) — never before. The timer runs only while sockets are open.
 */

export interface TimedSocket {
  /** Close the socket if its deadline has passed at `now` (performance.now()). */
  checkTimeout(now: number): void;
}

export class TimeoutSweep {
  readonly timeoutMs: number;
  private readonly periodMs: number;
  private readonly sockets = new Set<TimedSocket>();
  private timer: NodeJS.Timeout | null = null;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.periodMs = Math.max(10, Math.ceil(timeoutMs / 10));
  }

  add(socket: TimedSocket): void {
    this.sockets.add(socket);
    if (this.timer !== null) return;
    this.timer = setInterval(this.sweep, this.periodMs);
    // The sockets keep the process alive, not their timeouts.
    this.timer.unref();
  }

  delete(socket: TimedSocket): void {
    this.sockets.delete(socket);
    if (this.sockets.size > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    // A socket closed by its check leaves the set while it is iterated: allowed for a Set.
    for (const socket of this.sockets) socket.checkTimeout(now);
  };
}
