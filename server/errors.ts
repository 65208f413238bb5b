/**
 * One error family. Domain code throws these; the last Express middleware turns them into
 * `{ "error": { "code", "message" } }` and WebSocket edges turn them into close codes.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status = 500, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, code = "bad_request", details?: unknown) {
    super(code, message, 400, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Authentication required", code = "unauthorized") {
    super(code, message, 401);
  }
}

export class PaymentRequiredError extends AppError {
  constructor(message: string, code = "plan_limit_reached") {
    super(code, message, 402);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "You do not have permission to do this", code = "forbidden") {
    super(code, message, 403);
  }
}

export class NotFoundError extends AppError {
  constructor(message = "Not found", code = "not_found") {
    super(code, message, 404);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = "conflict") {
    super(code, message, 409);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = "Request body is too large", code = "payload_too_large") {
    super(code, message, 413);
  }
}

export class TooManyRequestsError extends AppError {
  /** Sent as Retry-After when set. */
  readonly retryAfterSeconds: number | null;

  constructor(message = "Too many requests", code = "rate_limited", retryAfterSeconds: number | null = null) {
    super(code, message, 429);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
