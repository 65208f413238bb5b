/**
 * A small finite-state machine, in the spirit of Liveblocks' `lib/fsm.ts`: named states, typed
 * events, one transitions table, enter effects whose cleanup runs on exit, and timers that belong
 * to a state (started on enter, cleared on exit), so nothing outlives the state that needed it.
 *
 * Rules, kept few on purpose:
 * - An event the current state has no entry for is ignored (`send` returns false); a handler may
 *   also return `null` to ignore it.
 * - A transition to the current state is internal: its effect runs, nothing exits or re-enters,
 *   timers keep running and no change is notified.
 * - A state may have one handler per event type; defining it twice throws, so "*" rows and
 *   per-state rows can never silently override each other.
 * - Events sent from inside an effect or a listener are queued and handled after the current
 *   transition has finished, so transitions never interleave.
 */
import { makeEventSource, type Observable } from "./event-source.ts";

/** The event a timed transition fires with. */
export type TimerEvent = { readonly type: "TIMER" };

export type BaseEvent = { readonly type: string };

/** Where timers come from: the real one, or a fake one in tests. */
export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    // A pending retry must not keep a Node process (tests, scripts) alive.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A target state, optionally with an effect that runs between the exit and the enter. */
export type Target<S extends string, C, E> = S | { target: S; effect?: (context: C, event: E) => void } | null;

export type Handler<S extends string, C, E> = Target<S, C, E> | ((event: E, context: Readonly<C>) => Target<S, C, E>);

export type TransitionTable<S extends string, E extends BaseEvent, C> = {
  [K in E["type"]]?: Handler<S, C, Extract<E, { type: K }>>;
};

export interface Transition<S extends string, E extends BaseEvent> {
  from: S;
  to: S;
  event: E | TimerEvent;
}

type Cleanup = () => void;
type AnyHandler<S extends string, C> = Handler<S, C, BaseEvent>;

export interface FSMOptions<S extends string, C> {
  states: readonly S[];
  initial: S;
  context: C;
  clock?: Clock;
}

export class FSM<S extends string, E extends BaseEvent, C extends object> {
  /** Mutable by transition effects only; read it, do not write it from outside. */
  readonly context: C;
  readonly didTransition: Observable<Transition<S, E>>;

  private readonly states: readonly S[];
  private readonly clock: Clock;
  private readonly table = new Map<S, Map<string, AnyHandler<S, C>>>();
  private readonly enterEffects = new Map<S, Array<(context: C) => Cleanup | void>>();
  private readonly transitions = makeEventSource<Transition<S, E>>();
  private readonly queue: Array<{ event: E | TimerEvent; timer?: AnyHandler<S, C> }> = [];
  private cleanups: Cleanup[] = [];
  private state: S;
  private running = false;
  private stopped = false;
  private busy = false;

  constructor(options: FSMOptions<S, C>) {
    this.states = options.states;
    this.state = options.initial;
    this.context = options.context;
    this.clock = options.clock ?? systemClock;
    this.didTransition = this.transitions.observable;
    for (const state of this.states) this.table.set(state, new Map());
  }

  get currentState(): S {
    return this.state;
  }

  /** Handlers for `from` (a state, several, or "*" for every state), keyed by event type. */
  addTransitions(from: S | readonly S[] | "*", handlers: TransitionTable<S, E, C>): this {
    const sources = from === "*" ? this.states : typeof from === "string" ? [from as S] : from;
    for (const source of sources) {
      const row = this.table.get(source);
      if (!row) throw new Error(`Unknown state "${source}"`);
      for (const [type, handler] of Object.entries(handlers) as Array<[string, AnyHandler<S, C>]>) {
        if (row.has(type)) throw new Error(`State "${source}" already handles "${type}"`);
        row.set(type, handler);
      }
    }
    return this;
  }

  /** Run `effect` each time `state` is entered; the function it returns runs when it is left. */
  onEnter(state: S, effect: (context: C) => Cleanup | void): this {
    const effects = this.enterEffects.get(state) ?? [];
    effects.push(effect);
    this.enterEffects.set(state, effects);
    return this;
  }

  /** Leave `state` for `target` after `delay(context)` ms unless something else left it first. */
  addTimedTransition(state: S, delay: (context: Readonly<C>) => number, target: Target<S, C, TimerEvent>): this {
    // Checked again when it fires: a timer queued behind another event may find the state left.
    const fire: AnyHandler<S, C> = () => (this.state === state ? (target as Target<S, C, BaseEvent>) : null);
    return this.onEnter(state, (context) => {
      const handle = this.clock.setTimeout(() => this.handle({ type: "TIMER" }, fire), delay(context));
      return () => this.clock.clearTimeout(handle);
    });
  }

  /** Enter the initial state (runs its enter effects). */
  start(): this {
    if (this.running || this.stopped) return this;
    this.running = true;
    this.enter();
    return this;
  }

  /**
   * Handle one event; false when the current state ignores it (or the machine is not running).
   * Sent during a transition, it is queued (and true) until that transition is done.
   */
  send(event: E): boolean {
    if (!this.running) return false;
    if (this.busy) {
      this.queue.push({ event });
      return true;
    }
    const handler = this.table.get(this.state)?.get(event.type);
    if (handler === undefined) return false;
    this.handle(event, handler);
    return true;
  }

  /** Run the current state's exit cleanups and ignore every later event and timer. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    this.queue.length = 0;
    this.exit();
    this.transitions.clear();
  }

  private handle(event: E | TimerEvent, handler: AnyHandler<S, C>): void {
    if (this.busy) {
      // A timer fired from inside a transition (only a test clock can): it runs after it.
      this.queue.push({ event, timer: handler });
      return;
    }
    this.busy = true;
    try {
      this.apply(event, handler);
      // A queued event's handler is looked up when its turn comes: the state may have changed.
      while (this.running && this.queue.length > 0) {
        const next = this.queue.shift()!;
        const queued = next.timer ?? this.table.get(this.state)?.get(next.event.type);
        if (queued !== undefined) this.apply(next.event, queued);
      }
    } finally {
      this.busy = false;
    }
  }

  private apply(event: E | TimerEvent, handler: AnyHandler<S, C>): void {
    if (!this.running) return;
    const resolved = typeof handler === "function" ? handler(event, this.context) : handler;
    if (resolved === null) return;
    const { target, effect } = typeof resolved === "string" ? { target: resolved, effect: undefined } : resolved;
    if (target === this.state) {
      effect?.(this.context, event);
      return;
    }
    const from = this.state;
    this.exit();
    effect?.(this.context, event);
    if (!this.running) return; // the effect stopped the machine
    this.state = target;
    this.enter();
    this.transitions.notify({ from, to: target, event });
  }

  private enter(): void {
    for (const effect of this.enterEffects.get(this.state) ?? []) {
      if (!this.running) return;
      const cleanup = effect(this.context);
      if (!cleanup) continue;
      // An effect that stopped the machine still gets its own cleanup run.
      if (this.running) this.cleanups.push(cleanup);
      else cleanup();
    }
  }

  private exit(): void {
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup();
  }
}
