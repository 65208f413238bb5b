/**
 * How authentication says no on a WebSocket: a Hocuspocus-shaped rejection whose `reason` the
 * client receives in the permission-denied message and whose `code` closes the socket (4401 bad
 * token, 4403 room not granted, the rest from protocol/close-codes.ts). HTTP says no with AppError.
 */
import { CloseCodes } from "../../protocol/close-codes.ts";
import { isAppError } from "../errors.ts";
import { logger } from "../logger.ts";

export interface Refusal {
  code: number;
  reason: string;
  message: string;
  /** Who was refused, when their token verified (the live log records only such refusals). */
  subject?: { orgId: string; userId: string };
}

/** A Hocuspocus-shaped rejection: `reason` goes to the client in the permission-denied message. */
export function refusal(code: number, reason: string, message: string): Refusal {
  return { code, reason, message };
}

export function isRefusal(error: unknown): error is Refusal {
  return !!error && typeof error === "object" && "code" in error && "reason" in error && typeof (error as Refusal).code === "number";
}

/**
 * Any failure of authentication as a refusal: an AppError keeps its code as the reason (4401 for a
 * 401, else 4403); anything unknown (a database error) is 4500 internal_error, and logged.
 */
export function toRefusal(error: unknown): Refusal {
  if (isRefusal(error)) return error;
  if (isAppError(error)) {
    return refusal(error.status === 401 ? 4401 : 4403, error.code, error.message);
  }
  logger.error("Authentication failed unexpectedly", { error: (error as Error)?.message });
  return refusal(CloseCodes.InternalError.code, CloseCodes.InternalError.reason, "Authentication failed");
}
