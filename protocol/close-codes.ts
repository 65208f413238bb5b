/**
 * WebSocket close codes and reasons: one table for the server, which closes with them, and the
 * SDK, which decides from them whether to reconnect, fetch a new token or give up. Every code the
 * server sends is here; docs/architecture.md ("Limits and close codes") explains each.
 *
 * 1xxx are RFC 6455 codes a stock client retries on. 44xx are final for y-websocket (its default
 * `shouldReconnect`), so /yjs uses them only where reconnecting cannot help. The Hocuspocus provider
 * retries on every code; the SDK (client/core/connection.ts) stops on final refusals, fetches a new token
 * for the token ones (TOKEN_REASONS, at most 5 in a row) and retries internal_error.
 */

export interface CloseCode {
  readonly code: number;
  readonly reason: string;
}

export const CloseCodes = {
  /** The server is shutting down: reconnect, elsewhere or later. */
  ShuttingDown: { code: 1001, reason: "server_shutting_down" },
  /** A text frame; the protocol is binary. */
  UnsupportedData: { code: 1003, reason: "binary_frames_only" },
  /** A frame over MAX_MESSAGE_BYTES (ws closes with it itself). */
  MessageTooBig: { code: 1009, reason: "message_too_big" },
  /** An update could not be written to the update log: reconnect, the sync resends it. */
  UpdateNotSaved: { code: 1013, reason: "update_not_saved" },
  /** An update names ids the server does not have yet (Yjs would park it): reconnect and resync. */
  DependenciesMissing: { code: 1013, reason: "update_dependencies_missing" },
  /** Too many document messages, on /yjs, where a 44xx would stop y-websocket for good. */
  TryAgainLater: { code: 1013, reason: "rate_limited" },
  /** The room's maxParticipants, counted over every process. */
  RoomFull: { code: 4005, reason: "room_full" },
  MalformedMessage: { code: 4400, reason: "malformed_message" },
  /**
   * The organisation's plan is at a limit (docs/billing.md): a new end user over its monthly active
   * users, or a new room over its rooms. Final: a retry cannot help until the plan changes.
   */
  PlanLimitReached: { code: 4402, reason: "plan_limit_reached" },
  /** Missing, invalid or expired access token (token_missing, invalid_token, token_expired, token_mismatch). */
  Unauthorized: { code: 4401, reason: "unauthorized" },
  /** The key or member that minted the token was revoked, removed, or may no longer grant it. */
  TokenRevoked: { code: 4401, reason: "token_revoked" },
  /** The token does not grant this room or organisation (also: room_not_granted, feature_not_in_plan, comment guard reasons). */
  Forbidden: { code: 4403, reason: "forbidden" },
  /** The room was deleted (live connections), or deleted after the token was minted (new ones). */
  RoomDeleted: { code: 4404, reason: "room_deleted" },
  /** The room does not exist and the token may not create it (no room:write). */
  RoomNotFound: { code: 4404, reason: "room_not_found" },
  /** Hocuspocus' own: no Auth message within its timeout. */
  ConnectionTimeout: { code: 4408, reason: "connection_timeout" },
  /** An awareness state over the size limit. */
  AwarenessTooLarge: { code: 4413, reason: "awareness_too_large" },
  /** More sent before a document's Auth message than the server holds. */
  HeldTooLarge: { code: 4413, reason: "too_much_before_auth" },
  /** Too many messages (rate limit) on /collab. */
  TooManyRequests: { code: 4429, reason: "rate_limited" },
  /** Authentication failed on the server's side (a database error): retry later. */
  InternalError: { code: 4500, reason: "internal_error" },
} as const satisfies Record<string, CloseCode>;

/** Hocuspocus' own "reset connection" (e.g. its pre-authentication queue overflowed). */
export const HOCUSPOCUS_RESET_CODE = 4205;

/** Refusal reasons a new access token can fix; every other refusal is final. */
export const TOKEN_REASONS: ReadonlySet<string> = new Set([
  "token_missing",
  "invalid_token",
  "token_expired",
  "token_mismatch",
  "token_revoked",
  "unauthorized",
]);

/**
 * Reasons the comment guard refuses an update with (4403 after a Close message; docs/comments.md),
 * and feature_not_in_plan: a comment write on a plan without comments (docs/billing.md).
 */
export function isWriteRefusalReason(reason: string | undefined): boolean {
  return !!reason && (/^(comment|comments|thread|reaction|document)_/.test(reason) || reason === "invalid_update" || reason === "feature_not_in_plan");
}

/**
 * The close code for a reason the server closes a live document with (Hocuspocus' Close message
 * carries only the reason): final refusals keep their 44xx code on every endpoint.
 */
export function closeCodeForReason(reason: string): number | undefined {
  for (const entry of [CloseCodes.TokenRevoked, CloseCodes.RoomDeleted]) if (entry.reason === reason) return entry.code;
  return undefined;
}
