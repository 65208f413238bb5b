/**
 * CORS for /api from the ALLOWED_ORIGINS allow-list only. A listed origin gets itself back with
 * credentials (the session cookie) and its preflights are answered; any other origin gets no CORS
 * header at all, so the browser keeps its answers from the page. With no list nothing is mounted:
 * the API is then same-origin only, as before. Every answer varies on Origin, so a shared cache
 * never hands one origin's CORS headers to another.
 */
import cors from "cors";
import type { RequestHandler } from "express";

/** Null when no origin is allowed (the default). */
export function createCors(allowedOrigins: readonly string[]): RequestHandler | null {
  if (allowedOrigins.length === 0) return null;
  const allowed = new Set(allowedOrigins);
  const handler = cors({
    // Returning false makes the cors package add nothing and pass the request on.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ["GET", "POST", "PATCH", "DELETE"],
    allowedHeaders: ["Content-Type", "Authorization", "X-Request-Id"],
    exposedHeaders: ["Retry-After", "X-Request-Id"],
    maxAge: 600,
  });
  return (req, res, next) => {
    res.vary("Origin");
    handler(req, res, next);
  };
}
