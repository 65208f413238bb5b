/**
 * Remote cursors (pointers). Senders throttle their pointer (throttle.ts); receivers interpolate,
 * so a cursor that arrives ten times a second still glides at the screen's frame rate. Each
 * remote pointer has a *track*: a straight segment from where it is drawn now to its newest
 * position, walked over roughly the time between the last two updates (the sender's pace). A new
 * position starts a new segment from the current drawn point, so there is never a jump backwards.
 * The math is pure and unit-tested (test/unit/client/cursors.test.ts); the tracker only drives it.
 */
import type { Point } from "./types.ts";
import { makeEventSource, type Observable } from "./event-source.ts";

export interface Track {
  from: Point;
  to: Point;
  startedAt: number;
  durationMs: number;
  /** When the newest position arrived; the next one's gap sets the next duration. */
  arrivedAt: number;
}

export const MIN_SEGMENT_MS = 16;
export const MAX_SEGMENT_MS = 500;

export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/** The point `progress` (clamped to 0..1) of the way from `from` to `to`. */
export function interpolatePoint(from: Point, to: Point, progress: number): Point {
  const t = Math.min(1, Math.max(0, progress));
  return { x: lerp(from.x, to.x, t), y: lerp(from.y, to.y, t) };
}

/** Where a track draws its cursor at `now`. */
export function positionAt(track: Track, now: number): Point {
  if (track.durationMs <= 0) return track.to;
  return interpolatePoint(track.from, track.to, (now - track.startedAt) / track.durationMs);
}

export function isSettled(track: Track, now: number): boolean {
  return now - track.startedAt >= track.durationMs;
}

/**
 * A new position arrived. The first one is shown where it is; later ones start from the drawn
 * point and take as long as the gap since the previous update (clamped), matching the sender.
 */
export function retarget(track: Track | null, to: Point, now: number): Track {
  if (!track) return { from: to, to, startedAt: now, durationMs: 0, arrivedAt: now };
  const gap = now - track.arrivedAt;
  const durationMs = Math.min(MAX_SEGMENT_MS, Math.max(MIN_SEGMENT_MS, gap));
  return { from: positionAt(track, now), to, startedAt: now, durationMs, arrivedAt: now };
}

export { colorForUser } from "../../protocol/colors.ts";

/** What `room.cursors` hands a renderer: where to draw, and the label and colour to draw. */
export interface RenderedCursor {
  readonly connectionId: number;
  readonly userId: string;
  readonly name: string;
  readonly color: string;
  readonly x: number;
  readonly y: number;
}

export interface RemotePointer {
  connectionId: number;
  userId: string;
  name: string;
  color: string;
  pointer: Point | null;
}

export interface FrameScheduler {
  request(callback: () => void): unknown;
  cancel(handle: unknown): void;
}

/** requestAnimationFrame in browsers; a 16 ms timer elsewhere (Node, tests). */
export const defaultFrames: FrameScheduler =
  typeof requestAnimationFrame === "function"
    ? { request: (cb) => requestAnimationFrame(cb), cancel: (h) => cancelAnimationFrame(h as number) }
    : { request: (cb) => setTimeout(cb, 16), cancel: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };

export interface CursorTracker extends Observable<readonly RenderedCursor[]> {
  /** The cursors as drawn now; the same array until something moves. */
  get(): readonly RenderedCursor[];
  /** Feed the latest remote pointers (called when others change). */
  update(pointers: readonly RemotePointer[]): void;
  destroy(): void;
}

export function createCursorTracker(options: { now?: () => number; frames?: FrameScheduler; interpolate?: boolean } = {}): CursorTracker {
  const now = options.now ?? (() => (typeof performance !== "undefined" ? performance.now() : Date.now()));
  const frames = options.frames ?? defaultFrames;
  const interpolate = options.interpolate ?? true;
  const events = makeEventSource<readonly RenderedCursor[]>();
  const tracks = new Map<number, { meta: RemotePointer; track: Track }>();
  let snapshot: readonly RenderedCursor[] = [];
  let frame: unknown = null;

  function render(): void {
    const t = now();
    const next: RenderedCursor[] = [];
    let moving = false;
    for (const { meta, track } of tracks.values()) {
      const p = interpolate ? positionAt(track, t) : track.to;
      if (interpolate && !isSettled(track, t)) moving = true;
      next.push({ connectionId: meta.connectionId, userId: meta.userId, name: meta.name, color: meta.color, x: p.x, y: p.y });
    }
    next.sort((a, b) => a.connectionId - b.connectionId);
    if (!sameCursors(snapshot, next)) {
      snapshot = next;
      events.notify(snapshot);
    }
    frame = moving ? frames.request(onFrame) : null;
  }

  function onFrame(): void {
    frame = null;
    render();
  }

  return {
    subscribe: events.subscribe,
    waitUntil: events.waitUntil,
    get: () => snapshot,
    update(pointers) {
      const t = now();
      const seen = new Set<number>();
      for (const remote of pointers) {
        if (!remote.pointer) continue;
        seen.add(remote.connectionId);
        const existing = tracks.get(remote.connectionId);
        if (existing && existing.track.to.x === remote.pointer.x && existing.track.to.y === remote.pointer.y) {
          existing.meta = remote;
          continue;
        }
        tracks.set(remote.connectionId, { meta: remote, track: retarget(existing?.track ?? null, remote.pointer, t) });
      }
      for (const id of [...tracks.keys()]) if (!seen.has(id)) tracks.delete(id);
      if (frame !== null) frames.cancel(frame);
      frame = null;
      render();
    },
    destroy() {
      if (frame !== null) frames.cancel(frame);
      frame = null;
      tracks.clear();
      events.clear();
    },
  };
}

function sameCursors(a: readonly RenderedCursor[], b: readonly RenderedCursor[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.connectionId !== y.connectionId || x.x !== y.x || x.y !== y.y || x.name !== y.name || x.color !== y.color) return false;
  }
  return true;
}
