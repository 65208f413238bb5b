/**
 * A room's activity feed: comments, replies, resolutions, reactions, first joins, and document
 * edits aggregated to one row per user per time window (default 60 s), updated in place. The first
 * edit of a window inserts its row at once (so the feed is live); later edits in the window are
 * counted in memory and added to the row every `flushMs` (15 s). Rows never change their (createdAt, id),
 * so cursor pagination is stable. Each new or grown row is pushed to the room's clients.
 */
import { Op, UniqueConstraintError } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { RoomActivity } from "../../../db/models/RoomActivity.ts";
import { logger } from "../../logger.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import type { ActivityItem } from "../../../protocol/notifications.ts";

export const ACTIVITY_KINDS = [
  "comment_created",
  "reply_created",
  "thread_resolved",
  "thread_unresolved",
  "reaction_added",
  "user_joined_first_time",
  "document_edited",
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** The wire shape the SDK reads (client/core/notifications.ts), one definition for both. */
export type ActivityView = ActivityItem;

export interface ActivityInput {
  orgId: string;
  roomId: string;
  kind: ActivityKind;
  actorId: string | null;
  threadId?: string | null;
  commentId?: string | null;
  data?: Record<string, unknown>;
}

export interface ActivityServiceOptions {
  db: Database;
  /** Deliver a JSON message to the room's clients, on every process. */
  push: (orgId: string, roomId: string, message: Record<string, unknown>) => void;
  windowMs?: number;
  flushMs?: number;
  now?: () => number;
}

/** Joins written in one batch at most (one statement's OR list, one transaction). */
const MAX_JOIN_BATCH = 500;

interface PendingJoin {
  orgId: string;
  roomId: string;
  dedupeKey: string;
  userId: string;
  resolve: (view: ActivityView | null) => void;
  reject: (error: unknown) => void;
}

interface EditCounter {
  orgId: string;
  roomId: string;
  dedupeKey: string;
  pending: number;
  created: Promise<void>;
  /** When its grown count is next written and pushed (a phase of its own: see DEFAULT_FLUSH_MS). */
  dueAt: number;
}

/**
 * How often grown edit counts are written and pushed to the room. Each push goes to every
 * connection of the room, per active editor: at 2 s a room of 100 with one editor typing got a
 * message for every two document broadcasts, and server CPU per delivered update was 1.5× bare
 * Hocuspocus (benchmark "connections"). A count of a 60 s window that lags by 15 s is still live.
 * Each counter flushes at its own phase within the period (the timer ticks FLUSH_SLICES times per
 * period and takes the counters due): flushing every counter at once sent a push per editor to
 * every connection of every room in one burst (10,000 sends at 10,000 connections, a stall of a
 * few hundred milliseconds for every broadcast behind it).
 */
const DEFAULT_FLUSH_MS = 15_000;
const FLUSH_SLICES = 15;

export class ActivityService {
  private readonly db: Database;
  private readonly push: ActivityServiceOptions["push"];
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly edits = new Map<string, EditCounter>();
  private readonly timer: NodeJS.Timeout;
  private readonly flushMs: number;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly joined = new Set<string>();
  private joins: PendingJoin[] = [];
  /** Joins queued or being written, by org, room and user: that user's next activity waits for its join's row. */
  private readonly joinsInFlight = new Map<string, Promise<ActivityView | null>>();
  private joinsScheduled = false;
  private joinsWriting: Promise<void> | null = null;

  constructor(options: ActivityServiceOptions) {
    this.db = options.db;
    this.push = options.push;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    this.timer = setInterval(() => void this.flush({ dueOnly: true }), this.flushMs / FLUSH_SLICES);
    this.timer.unref();
  }

  async record(input: ActivityInput): Promise<ActivityView> {
    // A user's first join is written in a batch; what they do next must not come before it in the feed.
    const join = this.joinsInFlight.get(`${input.orgId}\u0000${input.roomId}\u0000${input.actorId}`);
    if (join) await join.catch(() => null);
    const row = await this.db.models.RoomActivity.create({
      orgId: input.orgId,
      roomId: input.roomId,
      kind: input.kind,
      actorId: input.actorId,
      threadId: input.threadId ?? null,
      commentId: input.commentId ?? null,
      data: input.data ?? {},
      count: 1,
      dedupeKey: null,
    });
    return this.announce(row);
  }

  /**
   * The first time a user opens a room; later joins (on any process) are ignored. Joins arrive in
   * waves (a deploy's reconnects, a class opening one document), so they are written in batches:
   * every join of an event-loop turn shares one read of the rows that exist and one transaction —
   * on SQLite one turn of the process' single writer instead of one per join, which would queue the
   * update log's appends (and every broadcast waiting on them) behind thousands of joins.
   */
  async recordJoin(orgId: string, roomId: string, userId: string): Promise<ActivityView | null> {
    // Every connection reports a join; remember the ones known to exist so reconnects cost nothing.
    const seen = `${orgId}\u0000${roomId}\u0000${userId}`;
    if (this.joined.has(seen)) return null;
    if (this.joined.size >= 100_000) this.joined.clear();
    this.joined.add(seen);
    const written = new Promise<ActivityView | null>((resolve, reject) => {
      this.joins.push({ orgId, roomId, dedupeKey: `joined:${userId}`, userId, resolve, reject });
      this.scheduleJoins();
    });
    this.joinsInFlight.set(seen, written);
    void written.catch(() => {}).finally(() => {
      if (this.joinsInFlight.get(seen) === written) this.joinsInFlight.delete(seen);
    });
    return written;
  }

  private scheduleJoins(): void {
    if (this.joinsScheduled || this.joinsWriting) return;
    this.joinsScheduled = true;
    setImmediate(() => {
      this.joinsScheduled = false;
      this.joinsWriting = this.track(this.writeJoins()).finally(() => {
        this.joinsWriting = null;
        if (this.joins.length > 0) this.scheduleJoins();
      });
    });
  }

  private async writeJoins(): Promise<void> {
    while (this.joins.length > 0) {
      const batch = this.joins.splice(0, MAX_JOIN_BATCH);
      try {
        const created = await this.createJoinRows(batch);
        for (const [i, join] of batch.entries()) {
          const row = created[i];
          join.resolve(row ? this.announce(row) : null);
        }
      } catch (error) {
        for (const join of batch) join.reject(error);
      }
    }
  }

  /** The batch's rows, null where the join was recorded before (by another process, or before a restart). */
  private async createJoinRows(batch: PendingJoin[]): Promise<(RoomActivity | null)[]> {
    const model = this.db.models.RoomActivity;
    const keyOf = (r: { orgId: string; roomId: string; dedupeKey: string | null }) => `${r.orgId}\u0000${r.roomId}\u0000${r.dedupeKey}`;
    const existing = await model.findAll({
      where: { [Op.or]: batch.map(({ orgId, roomId, dedupeKey }) => ({ orgId, roomId, dedupeKey })) },
      attributes: ["orgId", "roomId", "dedupeKey"],
    });
    const known = new Set(existing.map(keyOf));
    const fresh = batch.filter((join) => !known.has(keyOf(join)));
    const values = (join: PendingJoin) => ({
      orgId: join.orgId,
      roomId: join.roomId,
      kind: "user_joined_first_time" as const,
      actorId: join.userId,
      data: {},
      count: 1,
      dedupeKey: join.dedupeKey,
    });
    const rows = new Map<PendingJoin, RoomActivity | null>();
    try {
      await this.db.sequelize.transaction(async (transaction) => {
        for (const join of fresh) rows.set(join, await model.create(values(join), { transaction }));
      });
    } catch (error) {
      if (!(error instanceof UniqueConstraintError)) throw error;
      // Another process recorded one of these joins since the read: one row at a time, skipping it.
      rows.clear();
      for (const join of fresh) {
        try {
          rows.set(join, await model.create(values(join)));
        } catch (rowError) {
          if (!(rowError instanceof UniqueConstraintError)) throw rowError;
          rows.set(join, null);
        }
      }
    }
    return batch.map((join) => rows.get(join) ?? null);
  }

  /** Count one content update by a user; cheap and synchronous (called per keystroke). */
  recordEdit(orgId: string, roomId: string, userId: string): void {
    const window = Math.floor(this.now() / this.windowMs) * this.windowMs;
    const dedupeKey = `edit:${userId}:${window}`;
    const key = `${orgId}\u0000${roomId}\u0000${dedupeKey}`;
    const existing = this.edits.get(key);
    if (existing) {
      existing.pending += 1;
      return;
    }
    const counter: EditCounter = { orgId, roomId, dedupeKey, pending: 0, created: Promise.resolve(), dueAt: this.now() + Math.random() * this.flushMs };
    counter.created = this.track(this.createEditRow(counter, userId, window));
    this.edits.set(key, counter);
  }

  private async createEditRow(counter: EditCounter, userId: string, window: number): Promise<void> {
    try {
      const row = await this.db.models.RoomActivity.create({
        orgId: counter.orgId,
        roomId: counter.roomId,
        kind: "document_edited",
        actorId: userId,
        data: { windowStart: new Date(window).toISOString(), windowMs: this.windowMs },
        count: 1,
        dedupeKey: counter.dedupeKey,
      });
      this.announce(row);
    } catch (error) {
      if (error instanceof UniqueConstraintError) counter.pending += 1; // another process or a restart made the row
      else logger.warn("Could not record a document edit in the activity feed", { error: (error as Error).message });
    }
  }

  /**
   * Add buffered edit counts to their rows: every counter's, or (the timer) only those due and
   * those of past windows, which are then dropped. All counts of a flush go in one transaction (on
   * SQLite one turn of the single writer, not one per editor, which queued the update log behind a
   * busy server's every flush) and are read back in one query.
   */
  async flush(options: { dueOnly?: boolean } = {}): Promise<void> {
    const now = this.now();
    const current = Math.floor(now / this.windowMs) * this.windowMs;
    const due: { counter: EditCounter; by: number }[] = [];
    for (const [key, counter] of this.edits) {
      const windowStart = Number(counter.dedupeKey.slice(counter.dedupeKey.lastIndexOf(":") + 1));
      const past = windowStart < current;
      if (past) this.edits.delete(key);
      if (counter.pending === 0) continue;
      if (options.dueOnly && !past && counter.dueAt > now) continue;
      due.push({ counter, by: counter.pending });
      counter.pending = 0;
      counter.dueAt = now + this.flushMs;
    }
    if (due.length > 0) await this.track(this.addEditCounts(due)).catch(() => {});
  }

  private async addEditCounts(due: { counter: EditCounter; by: number }[]): Promise<void> {
    // A window's first edit creates its row (createEditRow logs a failure); counts follow it.
    await Promise.allSettled(due.map(({ counter }) => counter.created));
    const model = this.db.models.RoomActivity;
    const whereOf = ({ orgId, roomId, dedupeKey }: EditCounter) => ({ orgId, roomId, dedupeKey });
    try {
      await this.db.sequelize.transaction(async (transaction) => {
        for (const { counter, by } of due) await model.increment({ count: by }, { where: whereOf(counter), transaction });
      });
      const rows = await model.findAll({ where: { [Op.or]: due.map(({ counter }) => whereOf(counter)) } });
      for (const row of rows) this.announce(row, "sf:activity_updated");
    } catch (error) {
      logger.warn("Could not add edits to the activity feed", { rows: due.length, error: (error as Error).message });
    }
  }

  /** Oldest first by default (a feed reads as a sequence); the cursor is the last row's (createdAt, id). */
  async list(orgId: string, roomId: string, options: { limit?: number; cursor?: string; order?: "asc" | "desc" } = {}): Promise<{ data: ActivityView[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 100);
    const desc = options.order === "desc";
    const cmp = desc ? Op.lt : Op.gt;
    const where: Record<string | symbol, unknown> = { orgId, roomId };
    if (options.cursor) {
      const c = decodeCursor(options.cursor);
      const id = Number(c.id);
      where[Op.or] = [{ createdAt: { [cmp]: c.at } }, { createdAt: c.at, id: { [cmp]: id } }];
    }
    const dir = desc ? "DESC" : "ASC";
    const rows = await this.db.models.RoomActivity.findAll({ where, order: [["createdAt", dir], ["id", dir]], limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(toView), nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    while (this.joins.length > 0 || this.joinsScheduled || this.joinsWriting) await (this.joinsWriting ?? new Promise((r) => setImmediate(r)));
    await Promise.allSettled([...this.inflight]);
  }

  private announce(row: RoomActivity, type = "sf:activity"): ActivityView {
    const view = toView(row);
    this.push(row.orgId, row.roomId, { type, activity: view });
    return view;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => {});
    return p;
  }
}

function toView(row: RoomActivity): ActivityView {
  return {
    id: String(row.id),
    kind: row.kind,
    roomId: row.roomId,
    actorId: row.actorId,
    threadId: row.threadId,
    commentId: row.commentId,
    data: typeof row.data === "string" ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
    count: row.count,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
