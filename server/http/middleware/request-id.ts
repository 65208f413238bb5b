import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

/** Every request gets an id (or keeps a sane incoming X-Request-Id), echoed in the response. */
export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.get("x-request-id");
  const id = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : randomUUID();
  res.locals.requestId = id;
  res.setHeader("X-Request-Id", id);
  next();
};
