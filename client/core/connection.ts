/**
 * One room's connection, as an explicit state machine (fsm.ts) fed by the provider's public events
 * and by the room (leave, a refreshed token). `Status` is the part of the state before the dot:
 *
 *   state                  status        the room is…
 *   connecting             connecting    waiting for its first authentication (socket opening, token on its way)
 *   connecting.backoff     connecting    refused on an open socket; waiting before it authenticates again
 *   connected              connected     authenticated on an open socket
 *   reconnecting           reconnecting  lost: the socket is reopening, or a new authentication is on its way
 *   reconnecting.backoff   reconnecting  as connecting.backoff, after having been connected
 *   refused                refused       refused for good (final reason, refused write, token attempts spent)
 *   disconnected           disconnected  left, or the socket gave up (its maxAttempts)
 *
 * Exactly one retry loop drives a room at any time. All rooms of a client share one
 * HocuspocusProviderWebsocket, so its reconnect loop (the client's `reconnect` options: exponential
 * backoff, jitter, maxAttempts) owns the transport — no single room could — and when the socket
 * reopens, every attached provider authenticates by itself. This machine owns only what that loop
 * cannot see: a room refused while the socket stays open (its Auth refused, or its document closed
 * by the server while other rooms keep the socket). Its backoff states exist only while the socket
 * is open: a socket close leaves them (their timer is cleared) for plain waiting, and the provider's
 * authentication on reopen is the next attempt. Refusals are counted across both paths, so a token
 * the server keeps refusing ends in `refused` after `retry.attempts` new tokens, not in a loop.
 *
 * Which refusal is which: close reasons and TOKEN_REASONS are protocol/close-codes.ts'.
 */
import { FSM, type Clock, type Target } from "./fsm.ts";
import { makeEventSource, type Observable } from "./event-source.ts";
import { SyncForgeError, type Status } from "./types.ts";
import { CloseCodes, TOKEN_REASONS, isWriteRefusalReason } from "../../protocol/close-codes.ts";

export type ConnectionState =
  | "connecting"
  | "connecting.backoff"
  | "connected"
  | "reconnecting"
  | "reconnecting.backoff"
  | "refused"
  | "disconnected";

const STATES: readonly ConnectionState[] = [
  "connecting",
  "connecting.backoff",
  "connected",
  "reconnecting",
  "reconnecting.backoff",
  "refused",
  "disconnected",
];

export type ConnectionEvent =
  /** provider "authenticated" */
  | { type: "AUTHENTICATED" }
  /** provider "authenticationFailed": the server's permission-denied reason, or the provider's own when the token could not be fetched */
  | { type: "AUTH_FAILED"; reason: string }
  /** provider "close" while the socket is still open: the server closed this room's document */
  | { type: "ROOM_CLOSED"; reason: string }
  /** provider "disconnect": the shared socket closed (its loop reopens it) */
  | { type: "SOCKET_CLOSED" }
  /** socket "maxAttemptsFailed": its loop stopped */
  | { type: "SOCKET_GAVE_UP" }
  /** the room's token source has a new token */
  | { type: "TOKEN_REFRESHED" }
  | { type: "LEAVE" };

/** What the machine does to the world; the room implements it over its provider and token source. */
export interface ConnectionActions {
  /** Send this room's token (a new one once invalidated) and restart its sync, on the open socket. */
  reauthenticate(): void;
  /** Forget the refused token, so the next authentication fetches one. */
  invalidateToken(): void;
  /** Hand a refreshed token to the server on the live connection (token sync). */
  sendToken(): void;
  /** The final verdict (once, on entering `refused`): stop using the socket for this room. */
  refused(error: SyncForgeError, kind: "write" | "final"): void;
  reportError(error: SyncForgeError): void;
}

export interface RetryPolicy {
  /** New authentications after refusals before giving up (reset once authenticated). */
  attempts: number;
  /** First wait (ms), doubled per attempt. */
  delay: number;
  maxDelay: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, delay: 500, maxDelay: 8000 };

export interface ConnectionOptions {
  roomId: string;
  actions: ConnectionActions;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
}

export interface RoomConnection {
  getState(): ConnectionState;
  getStatus(): Status;
  /** Why the room is `refused`; null in every other state. */
  getError(): SyncForgeError | null;
  /** Public status changes only (a move between `connecting` and `connecting.backoff` is silent). */
  readonly status: Observable<Status>;
  send(event: ConnectionEvent): void;
  /** After `LEAVE`: clears timers and listeners; later events are ignored. */
  stop(): void;
}

export type RefusalKind = "token" | "write" | "final" | "transient";

/** The provider's reason when our token function threw (HocuspocusProvider.sendToken). */
const TOKEN_FETCH_FAILED = "Failed to get token";

/** Refusals of an Auth message that time can fix: the server could not decide (a database error). */
const TRANSIENT_AUTH_REASONS: ReadonlySet<string> = new Set([CloseCodes.InternalError.reason]);

/** Reasons a live document is closed with that no retry can fix (4403/4404 and their aliases). */
const FINAL_CLOSE_REASONS: ReadonlySet<string> = new Set([
  ...Object.values(CloseCodes)
    .filter((entry) => entry.code === 4403 || entry.code === 4404)
    .map((entry) => entry.reason),
  "room_not_granted",
  "plan_limit_reached",
]);

/**
 * What a refusal means for the room. An Auth refusal is final unless a token or time can fix it
 * (docs/sdk.md, "Refusals"); a document the server closed for another reason (an exception, a
 * reset) is opened again.
 */
export function classifyRefusal(reason: string, where: "auth" | "close"): RefusalKind {
  if (TOKEN_REASONS.has(reason) || reason.startsWith(TOKEN_FETCH_FAILED)) return "token";
  if (isWriteRefusalReason(reason)) return "write";
  if (where === "auth") return TRANSIENT_AUTH_REASONS.has(reason) ? "transient" : "final";
  // A plan limit names itself and then the limit: `plan_limit_reached: 50 monthly active users`.
  return FINAL_CLOSE_REASONS.has(reason.split(":", 1)[0]!) ? "final" : "transient";
}

/** The wait before new authentication number `attempt` (1-based): delay · 2^(attempt−1), capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  return Math.min(policy.maxDelay, policy.delay * 2 ** Math.max(0, attempt - 1));
}

/** The public status of a machine state. */
export function statusOf(state: ConnectionState): Status {
  return state.split(".")[0] as Status;
}

interface Context {
  attempts: number;
  error: SyncForgeError | null;
  errorKind: "write" | "final";
}

type Phase = "connecting" | "reconnecting";
type RefusalEvent = { reason: string };

export function createRoomConnection(options: ConnectionOptions): RoomConnection {
  const { roomId, actions } = options;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const machine = new FSM<ConnectionState, ConnectionEvent, Context>({
    states: STATES,
    initial: "connecting",
    context: { attempts: 0, error: null, errorKind: "final" },
    clock: options.clock,
  });

  const refuse = (error: SyncForgeError, kind: "write" | "final"): Target<ConnectionState, Context, unknown> => ({
    target: "refused",
    effect: (context) => {
      context.error = error;
      context.errorKind = kind;
    },
  });

  /** A refused Auth or a closed document: give up, or wait and authenticate again. */
  const onRefusal =
    (phase: Phase, where: "auth" | "close") =>
    (event: RefusalEvent, context: Readonly<Context>): Target<ConnectionState, Context, unknown> => {
      const { reason } = event;
      const kind = classifyRefusal(reason, where);
      if (kind === "write") return refuse(new SyncForgeError(reason, `The server refused a change in room "${roomId}": ${reason}`, roomId), "write");
      if (kind === "final") {
        const message = where === "auth" ? `Entering room "${roomId}" failed: ${reason}` : `The server closed room "${roomId}": ${reason}`;
        return refuse(new SyncForgeError(reason, message, roomId), "final");
      }
      const code = kind === "token" ? "token_refused" : reason;
      if (context.attempts >= retry.attempts) {
        return refuse(new SyncForgeError(code, `Room "${roomId}" was refused ${context.attempts + 1} times, last: ${reason}`, roomId), "final");
      }
      return {
        target: `${phase}.backoff`,
        effect: (ctx) => {
          ctx.attempts++;
          if (kind !== "token") return;
          actions.invalidateToken();
          actions.reportError(new SyncForgeError(code, `Room "${roomId}" refused the token (${reason}); fetching a new one`, roomId));
        },
      };
    };

  const authenticated = { target: "connected" as const, effect: (context: Context) => void (context.attempts = 0) };
  const gaveUp = {
    target: "disconnected" as const,
    effect: () => actions.reportError(new SyncForgeError("connection_failed", "Could not reach the server; gave up reconnecting", roomId)),
  };

  for (const phase of ["connecting", "reconnecting"] as const) {
    const backoff = `${phase}.backoff` as const;
    machine.addTransitions(phase, {
      AUTHENTICATED: authenticated,
      AUTH_FAILED: onRefusal(phase, "auth"),
      ROOM_CLOSED: onRefusal(phase, "close"),
      SOCKET_GAVE_UP: gaveUp,
    });
    machine.addTransitions(backoff, {
      AUTHENTICATED: authenticated,
      AUTH_FAILED: onRefusal(phase, "auth"),
      ROOM_CLOSED: onRefusal(phase, "close"),
      // The socket's loop takes over: the provider authenticates again when it reopens.
      SOCKET_CLOSED: phase,
      SOCKET_GAVE_UP: gaveUp,
    });
    machine.addTimedTransition(backoff, (context) => backoffDelay(context.attempts, retry), {
      target: phase,
      effect: () => actions.reauthenticate(),
    });
  }

  machine.addTransitions("connected", {
    AUTH_FAILED: onRefusal("reconnecting", "auth"),
    ROOM_CLOSED: onRefusal("reconnecting", "close"),
    SOCKET_CLOSED: "reconnecting",
    SOCKET_GAVE_UP: gaveUp,
    TOKEN_REFRESHED: { target: "connected", effect: () => actions.sendToken() },
  });

  // The socket gave up; another room entering on this client starts it again.
  machine.addTransitions("disconnected", {
    AUTHENTICATED: authenticated,
    AUTH_FAILED: onRefusal("reconnecting", "auth"),
    ROOM_CLOSED: onRefusal("reconnecting", "close"),
  });

  machine.addTransitions("*", { LEAVE: "disconnected" });

  machine.onEnter("refused", (context) => {
    if (context.error) actions.refused(context.error, context.errorKind);
  });

  const statusEvents = makeEventSource<Status>();
  machine.didTransition.subscribe(({ from, to }) => {
    if (statusOf(from) !== statusOf(to)) statusEvents.notify(statusOf(to));
  });
  machine.start();

  return {
    getState: () => machine.currentState,
    getStatus: () => statusOf(machine.currentState),
    getError: () => (machine.currentState === "refused" ? machine.context.error : null),
    status: statusEvents.observable,
    send: (event) => void machine.send(event),
    stop: () => {
      machine.stop();
      statusEvents.clear();
    },
  };
}
