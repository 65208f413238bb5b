/**
 * Per-socket rate limit for document messages (everything but awareness). Document updates must
 * never be lost, so nothing is dropped: over the limit, messages wait in a bounded queue and the
 * socket stops reading (TCP backpressure reaches the client); the queue drains at the allowed rate
 * and reading resumes. A client that still overfills the queue is closed with 4429, and its provider
 * resends what the server lacks after reconnecting (sync step 1/2).
 */
import type { RealtimeMetrics } from "../metrics.ts";
import { logger } from "../logger.ts";

export interface MessageRateLimits {
  perSecond: number;
  burst: number;
}

export const MAX_QUEUED_MESSAGES = 1000;
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
const LOG_EVERY_MS = 10_000;

export interface Pausable {
  pause(): void;
  resume(): void;
}

export class MessageRate {
  private readonly limits: MessageRateLimits;
  private readonly metrics: RealtimeMetrics;
  private readonly socket: Pausable;
  private readonly deliver: (message: Uint8Array) => void;
  private readonly overflow: () => void;
  private readonly reportThrottled: (message: Uint8Array) => void;
  private reportedAt = -Infinity;
  private tokens: number;
  private refilledAt = performance.now();
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private throttled = 0;
  private loggedAt = 0;
  private stopped = false;

  constructor(options: {
    limits: MessageRateLimits;
    metrics: RealtimeMetrics;
    socket: Pausable;
    deliver: (message: Uint8Array) => void;
    /** Called once when the queue overflows; the caller closes the socket with 4429. */
    overflow: () => void;
    /**
     * Called with the message that starts a queue, at most once per LOG_EVERY_MS: the live log's
     * `throttled` entries (never per message).
     */
    throttled?: (message: Uint8Array) => void;
  }) {
    this.limits = options.limits;
    this.metrics = options.metrics;
    this.socket = options.socket;
    this.deliver = options.deliver;
    this.overflow = options.overflow;
    this.reportThrottled = options.throttled ?? (() => {});
    this.tokens = options.limits.burst;
  }

  /** Deliver now if the bucket allows and nothing waits; otherwise queue (in order). */
  submit(message: Uint8Array): void {
    if (this.stopped) return;
    if (this.queue.length === 0 && this.take()) {
      this.deliver(message);
      return;
    }
    if (this.queue.length >= MAX_QUEUED_MESSAGES || this.queuedBytes + message.length > MAX_QUEUED_BYTES) {
      this.stop();
      this.overflow();
      return;
    }
    this.queue.push(message);
    this.queuedBytes += message.length;
    this.note();
    if (this.queue.length === 1) {
      this.socket.pause();
      const now = performance.now();
      if (now - this.reportedAt >= LOG_EVERY_MS) {
        this.reportedAt = now;
        this.reportThrottled(message);
      }
    }
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.refilledAt) * this.limits.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private arm(): void {
    if (this.timer !== null) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.limits.perSecond));
    this.timer = setTimeout(() => this.drain(), wait);
  }

  private drain(): void {
    this.timer = null;
    while (!this.stopped && this.queue.length > 0 && this.take()) {
      const message = this.queue.shift()!;
      this.queuedBytes -= message.length;
      this.deliver(message);
    }
    if (this.stopped) return;
    if (this.queue.length > 0) this.arm();
    else this.socket.resume();
  }

  private note(): void {
    this.throttled += 1;
    this.metrics.documentMessagesThrottled.inc();
    const now = Date.now();
    if (now - this.loggedAt >= LOG_EVERY_MS) {
      logger.warn("Throttling document messages of a connection", {
        limitPerSecond: this.limits.perSecond,
        burst: this.limits.burst,
        throttledSinceLastLog: this.throttled,
      });
      this.loggedAt = now;
      this.throttled = 0;
    }
  }
}
