/**
 * The dashboard: the single-page app built into client/dashboard/dist, served at `/`. Its hashed
 * assets are cached for good; every other GET for an HTML page that no server route owns answers
 * index.html, so client-side routes (/organizations/…, the mails' /verify-email?token=…) load the
 * app. /api, /collab, /yjs, /health and /metrics stay the server's.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type RequestHandler } from "express";

/** Where scripts/build-dashboard.ts builds it. */
export const DASHBOARD_DIST = fileURLToPath(new URL("../../client/dashboard/dist", import.meta.url));

const SERVER_PATHS = ["/api", "/collab", "/yjs", "/health", "/metrics"];

// The app is one origin's scripts and styles (recharts sets inline style attributes) talking to
// the same origin over fetch and Server-Sent Events.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function isServerPath(pathname: string): boolean {
  return SERVER_PATHS.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

export function dashboardRoutes({ dir }: { dir: string }): Router {
  const router = Router();
  const index = path.join(dir, "index.html");
  const policy: RequestHandler = (req, res, next) => {
    if (!isServerPath(req.path)) res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    next();
  };
  router.use(policy);
  router.use("/assets", express.static(path.join(dir, "assets"), { immutable: true, maxAge: "1y", index: false, fallthrough: true }));
  router.get(/.*/, (req, res, next) => {
    if (isServerPath(req.path) || !req.accepts("html")) return next();
    // A path with an extension is a file that is not there, not a page.
    if (path.extname(req.path) !== "") return next();
    if (!existsSync(index)) {
      res
        .status(503)
        .type("text/plain")
        .send("The dashboard is not built. Run `npm run build:dashboard` (it needs the dev dependencies), then reload.\n");
      return;
    }
    res.setHeader("Cache-Control", "no-cache");
    res.sendFile(index);
  });
  return router;
}
