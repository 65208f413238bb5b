/**
 * The live log of an organisation (issue 20): what happens in its rooms — connects, disconnects,
 * refusals with their close codes, throttling, comment writes, webhook deliveries — as a bounded
 * history per organisation (the newest LIVE_LOG_HISTORY entries) and a live feed that reaches the
 * subscribers of every process.
 *
 * Entries are recorded from connection-level events and comment writes only, never per document
 * message. `record` is synchronous and never throws: the backend (memory-live-log.ts for one
 * process, redis-live-log.ts for several) batches and writes in the background, so a slow or absent
 * Redis never holds up or breaks a room; it costs entries, never connections.
 *
 * Entry ids are Redis stream ids (`<ms>-<seq>`), in one order per organisation; the memory backend
 * makes ids of the same shape. A reader resumes after an id it saw (SSE Last-Event-ID).
 */
import type { Unsubscribe } from "../event-source.ts";
import { logger } from "../../logger.ts";

export const LIVE_LOG_KINDS = ["connect", "disconnect", "refused", "throttled", "comment", "webhook"] as const;
export type LiveLogKind = (typeof LIVE_LOG_KINDS)[number];

/** One entry, as the REST API and the stream give it. */
export interface LiveLogEntry {
  id: string;
  /** When it happened, on the process that recorded it (ISO 8601). */
  at: string;
  org_id: string;
  room_id: string | null;
  user_id: string | null;
  kind: LiveLogKind;
  /** A close code (connect/disconnect/refused), an HTTP status (webhook). */
  code?: number;
  /** A short constant reason: a close reason, a comment event, a webhook event. */
  detail?: string;
}

/** An entry before a backend gives it its id. */
export type PendingEntry = Omit<LiveLogEntry, "id">;

export interface LiveLogInput {
  orgId: string;
  roomId?: string | null;
  userId?: string | null;
  kind: LiveLogKind;
  code?: number;
  detail?: string;
}

export interface LiveLogFilter {
  roomId?: string;
  userId?: string;
  /** Any of these kinds; all kinds when absent or empty. */
  kinds?: readonly LiveLogKind[];
}

/** What the edges and other areas (webhooks) hold: recording only. */
export interface LiveLogRecorder {
  record(input: LiveLogInput): void;
}

/** Where entries are kept and how they reach subscribers (memory-live-log.ts, redis-live-log.ts). */
export interface LiveLogBackend {
  /** Queue entries for writing; never blocks, never throws. */
  append(entry: PendingEntry): void;
  /** Up to the newest `history` entries of an organisation newer than `after` (all when null), newest first. */
  newest(orgId: string, after: string | null): Promise<LiveLogEntry[]>;
  /** Entries of `orgId` as they are written, by any process; resolves once delivery is set up. */
  subscribe(orgId: string, listener: (entry: LiveLogEntry) => void): Promise<Unsubscribe>;
  /** Write what is queued (bounded wait) and stop. */
  close(): Promise<void>;
}

/** Longest detail kept: details are constant reasons, never user content. */
const MAX_DETAIL = 200;

/** A no-op recorder for edges created without a live log (unit tests, benchmarks). */
export const NO_LIVE_LOG: LiveLogRecorder = { record() {} };

export class LiveLog implements LiveLogRecorder {
  private readonly backend: LiveLogBackend;
  private readonly now: () => Date;

  constructor(backend: LiveLogBackend, now: () => Date = () => new Date()) {
    this.backend = backend;
    this.now = now;
  }

  /** Record an event; returns at once (written in the background). */
  record(input: LiveLogInput): void {
    try {
      const entry: PendingEntry = {
        at: this.now().toISOString(),
        org_id: input.orgId,
        room_id: input.roomId ?? null,
        user_id: input.userId ?? null,
        kind: input.kind,
      };
      if (input.code !== undefined) entry.code = input.code;
      if (input.detail) entry.detail = input.detail.slice(0, MAX_DETAIL);
      this.backend.append(entry);
    } catch (error) {
      logger.warn("Could not record a live log entry", { orgId: input.orgId, kind: input.kind, error: (error as Error).message });
    }
  }

  /** The newest `limit` entries matching `filter`, newest first. */
  async list(orgId: string, filter: LiveLogFilter, limit: number): Promise<LiveLogEntry[]> {
    return (await this.backend.newest(orgId, null)).filter((e) => matches(e, filter)).slice(0, limit);
  }

  /** The kept entries after `after` (an id a reader saw) matching `filter`, oldest first. */
  async since(orgId: string, after: string, filter: LiveLogFilter): Promise<LiveLogEntry[]> {
    return (await this.backend.newest(orgId, after)).filter((e) => matches(e, filter)).reverse();
  }

  /** Live entries of `orgId` matching `filter`; resolves once no entry written from now on can be missed. */
  subscribe(orgId: string, filter: LiveLogFilter, listener: (entry: LiveLogEntry) => void): Promise<Unsubscribe> {
    return this.backend.subscribe(orgId, (entry) => {
      if (matches(entry, filter)) listener(entry);
    });
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

export function matches(entry: LiveLogEntry, filter: LiveLogFilter): boolean {
  if (filter.roomId !== undefined && entry.room_id !== filter.roomId) return false;
  if (filter.userId !== undefined && entry.user_id !== filter.userId) return false;
  if (filter.kinds && filter.kinds.length > 0 && !filter.kinds.includes(entry.kind)) return false;
  return true;
}

export const ENTRY_ID = /^\d{1,16}-\d{1,16}$/;

/** Order of two entry ids (`<ms>-<seq>`): negative when `a` is older. */
export function compareEntryIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am !== bm ? am - bm : as - bs;
}
