/**
 * The last middleware: every error becomes `{ "error": { "code", "message" } }`. Unknown errors
 * are 500s whose details stay in the log under the request id.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import { isAppError, TooManyRequestsError } from "../../errors.ts";
import { logger } from "../../logger.ts";

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: "not_found", message: `No route for ${req.method} ${req.path}` } });
};

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (res.headersSent) return;
  if (isAppError(error)) {
    if (error instanceof TooManyRequestsError && error.retryAfterSeconds !== null) res.setHeader("Retry-After", String(Math.max(1, error.retryAfterSeconds)));
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    res.status(error.status).json({ error: body });
    return;
  }
  // Errors raised by body-parser and friends carry a status and a type.
  const status = typeof error?.status === "number" ? error.status : typeof error?.statusCode === "number" ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code =
      error.type === "entity.too.large" ? "payload_too_large" : error.type === "entity.parse.failed" ? "invalid_json" : "bad_request";
    const message =
      code === "payload_too_large" ? "Request body is too large" : code === "invalid_json" ? "Request body is not valid JSON" : String(error.message ?? "Bad request");
    res.status(status).json({ error: { code, message } });
    return;
  }
  logger.error("Unhandled error while serving a request", {
    requestId: res.locals.requestId,
    method: req.method,
    path: req.path,
    error: error?.message,
    stack: error?.stack,
  });
  res.status(500).json({ error: { code: "internal_error", message: "Something went wrong", requestId: res.locals.requestId } });
};
