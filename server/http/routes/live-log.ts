/**
 * An organisation's live log (issue 20), for any member who reads its rooms and for its API keys
 * (`logs:read`):
 *   GET /organizations/:org_id/logs?room_id=&user_id=&kind=&limit= → { data: [entries, newest first] }
 *   GET /organizations/:org_id/logs/stream?room_id=&user_id=&kind=  → Server-Sent Events
 * `kind` is one kind or a comma-separated list. The stream sends each entry as `event: log`,
 * `id: <entry id>`, `data: <entry JSON>`; a client that reconnects with `Last-Event-ID` (browsers'
 * EventSource does it by itself), or `?last_event_id=` on a first connection, gets the kept entries
 * after that id first, then live ones. A comment line every 15 s keeps proxies from closing an idle
 * stream; at each, the caller's access is checked again, so a revoked key or a removed member
 * stops following within 15 s (the stream ends; reconnecting gets 401/404). A client that does not read what it is sent (over MAX_BUFFERED_BYTES waiting) is dropped:
 * it reconnects and resumes from the history. `Cache-Control: no-transform` keeps compression
 * (the `compression` middleware, proxies) from buffering the stream; `X-Accel-Buffering: no` tells
 * nginx the same.
 */
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { compareEntryIds, ENTRY_ID, LIVE_LOG_KINDS, type LiveLog, type LiveLogEntry, type LiveLogFilter, type LiveLogKind } from "../../domain/live-log/live-log.ts";
import type { Unsubscribe } from "../../domain/event-source.ts";
import { BadRequestError, TooManyRequestsError } from "../../errors.ts";
import { logger } from "../../logger.ts";
import { parseInput } from "../validate.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

export const HEARTBEAT_MS = 15_000;
/** Bytes a stream may have waiting for a slow client before it is dropped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** Open streams per organisation on one process. */
export const MAX_STREAMS_PER_ORG = 100;

const kinds = z
  .string()
  .max(200)
  .transform((value) => value.split(",").map((k) => k.trim()).filter(Boolean))
  .pipe(z.array(z.enum(LIVE_LOG_KINDS)).min(1, `one or more of ${LIVE_LOG_KINDS.join(", ")}`));
const filterSchema = z.object({
  room_id: z.string().min(1).max(128).optional(),
  user_id: z.string().min(1).max(128).optional(),
  kind: kinds.optional(),
});
const listSchema = filterSchema.extend({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
const streamSchema = filterSchema.extend({ last_event_id: z.string().max(40).optional() });

function toFilter(query: z.infer<typeof filterSchema>): LiveLogFilter {
  return { roomId: query.room_id, userId: query.user_id, kinds: query.kind as LiveLogKind[] | undefined };
}

export interface LiveLogRoutesOptions {
  auth: AuthMiddleware;
  liveLog: LiveLog;
  /** Heartbeat and access re-check interval (HEARTBEAT_MS); tests shorten it. */
  heartbeatMs?: number;
}

export function liveLogRoutes({ auth, liveLog, heartbeatMs = HEARTBEAT_MS }: LiveLogRoutesOptions): Router {
  const router = Router();
  const read = auth.requireOrgAccess("logs:read");
  const open = new Map<string, number>();

  router.get("/organizations/:org_id/logs", read, async (req, res) => {
    const query = parseInput(listSchema, req.query, "Query");
    res.json({ data: await liveLog.list(orgOf(res).id, toFilter(query), query.limit) });
  });

  router.get("/organizations/:org_id/logs/stream", read, async (req, res) => {
    const orgId = orgOf(res).id;
    const query = parseInput(streamSchema, req.query, "Query");
    const resumeFrom = req.get("last-event-id") ?? query.last_event_id;
    if (resumeFrom !== undefined && !ENTRY_ID.test(resumeFrom)) {
      throw new BadRequestError("Last-Event-ID is not an id this stream sent", "invalid_last_event_id");
    }
    if ((open.get(orgId) ?? 0) >= MAX_STREAMS_PER_ORG) {
      throw new TooManyRequestsError("Too many live log streams are open for this organization", "too_many_streams");
    }
    open.set(orgId, (open.get(orgId) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (open.get(orgId) ?? 1) - 1;
      if (left > 0) open.set(orgId, left);
      else open.delete(orgId);
    };
    try {
      await streamLog(req, res, {
        liveLog,
        orgId,
        filter: toFilter(query),
        resumeFrom: resumeFrom ?? null,
        heartbeatMs,
        stillAllowed: () => auth.stillAllowed(req, res, "logs:read"),
        done: release,
      });
    } catch (error) {
      release();
      throw error;
    }
  });

  return router;
}

/**
 * Follow the live log first, then send the history after `resumeFrom`, then what arrived
 * meanwhile and everything after: each entry once, in id order (ids already sent are skipped).
 */
async function streamLog(
  req: Request,
  res: Response,
  options: {
    liveLog: LiveLog;
    orgId: string;
    filter: LiveLogFilter;
    resumeFrom: string | null;
    heartbeatMs: number;
    stillAllowed: () => Promise<boolean>;
    done: () => void;
  },
): Promise<void> {
  const { liveLog, orgId, filter } = options;
  let lastSent = options.resumeFrom;
  let backlog: LiveLogEntry[] | null = [];
  let heartbeat: NodeJS.Timeout | null = null;
  let unsubscribe: Unsubscribe | null = null;
  let ended = false;
  let checking = false;

  const end = () => {
    if (ended) return;
    ended = true;
    if (heartbeat) clearInterval(heartbeat);
    unsubscribe?.();
    options.done();
  };
  const write = (chunk: string) => {
    if (ended) return;
    if (!res.write(chunk) && res.writableLength > MAX_BUFFERED_BYTES) {
      logger.info("Dropping a live log stream whose client does not keep up", { orgId, bufferedBytes: res.writableLength });
      end();
      res.destroy();
    }
  };
  const send = (entry: LiveLogEntry) => {
    if (lastSent !== null && compareEntryIds(entry.id, lastSent) <= 0) return;
    lastSent = entry.id;
    write(`id: ${entry.id}\nevent: log\ndata: ${JSON.stringify(entry)}\n\n`);
  };

  res.on("close", end);
  unsubscribe = await liveLog.subscribe(orgId, filter, (entry) => {
    if (backlog) backlog.push(entry);
    else send(entry);
  });
  if (ended || req.destroyed) {
    // The client left while the subscription was set up: end() ran without it.
    unsubscribe();
    end();
    return;
  }
  const history = options.resumeFrom === null ? [] : await liveLog.since(orgId, options.resumeFrom, filter).catch((error: unknown) => {
    end();
    throw error;
  });
  if (ended) return;
  res.status(200).set({
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  write(": live log\n\n");
  for (const entry of history) send(entry);
  const waiting = backlog;
  backlog = null;
  for (const entry of waiting) send(entry);
  heartbeat = setInterval(() => {
    write(": heartbeat\n\n");
    if (checking) return;
    checking = true;
    void options
      .stillAllowed()
      .then((allowed) => {
        if (allowed || ended) return;
        logger.info("Ending a live log stream whose caller may no longer read it", { orgId });
        end();
        res.end();
      })
      .finally(() => (checking = false));
  }, options.heartbeatMs);
}
