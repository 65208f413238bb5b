/**
 * Input every /api route refuses before any schema or database sees it:
 *   - a control character in the path (`%00`–`%1F`, `%7F`): 404, since no id holds one. SQLite
 *     failed on a NUL in a bound id (500) and PostgreSQL stored `\0` as the two characters `\0`;
 *   - a control character in a query value or name: 400 validation_failed;
 *   - JSON nested deeper than MAX_JSON_DEPTH: 400 json_too_deep. zod's z.json() and JSON.stringify
 *     recurse, so a 1 MB body of `[[[[…` overflowed the stack (500) in validation;
 *   - a NUL (U+0000) in any string or key of the body: 400 validation_failed. Neither database keeps
 *     it (PostgreSQL text and jsonb refuse it); other control characters stay legal in free text
 *     (ids refuse them in their own schemas, see END_USER_ID_PATTERN).
 * The walk is iterative and stops at the first problem, so its cost is bounded by the body limit.
 */
import type { RequestHandler } from "express";
import { AppError, BadRequestError, NotFoundError } from "../../errors.ts";

/** Levels of arrays and objects a request body may nest (the body itself is level 1). */
export const MAX_JSON_DEPTH = 32;

const CONTROL_IN_PATH = /[\u0000-\u001f\u007f]|%(?:[01][0-9a-f]|7f)/i;
const CONTROL = /[\u0000-\u001f\u007f]/;

export const guardInput: RequestHandler = (req, _res, next) => {
  if (CONTROL_IN_PATH.test(req.path)) throw new NotFoundError("Not found: ids never contain control characters", "not_found");
  for (const [name, value] of Object.entries(req.query)) {
    const values = Array.isArray(value) ? value : [value];
    if (CONTROL.test(name) || values.some((v) => typeof v === "string" && CONTROL.test(v))) {
      throw new BadRequestError("Query is invalid", "validation_failed", [{ path: name, message: "must not contain control characters" }]);
    }
  }
  const problem = inspectJson(req.body);
  if (problem === "too_deep") throw new AppError("json_too_deep", `JSON may nest at most ${MAX_JSON_DEPTH} levels`, 400);
  if (problem) throw new BadRequestError("Request body is invalid", "validation_failed", [{ path: problem.path, message: "must not contain NUL characters" }]);
  next();
};

/** The first problem of a parsed JSON value: too deep, or the path of a string holding a NUL. */
export function inspectJson(value: unknown): "too_deep" | { path: string } | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: "" }];
  while (stack.length > 0) {
    const { value: node, depth, path } = stack.pop()!;
    if (typeof node === "string") {
      if (node.includes("\u0000")) return { path };
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    if (depth + 1 > MAX_JSON_DEPTH) return "too_deep";
    const entries: Array<[string, unknown]> = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
    for (const [key, child] of entries) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes("\u0000")) return { path: childPath };
      stack.push({ value: child, depth: depth + 1, path: childPath });
    }
  }
  return null;
}
