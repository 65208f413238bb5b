/**
 * Request parsing with zod: a failure is a 400 `validation_failed` whose details name each field.
 */
import type { z } from "zod";
import { BadRequestError } from "../errors.ts";

export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = "Request body"): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.slice(0, 20).map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  throw new BadRequestError(`${what} is invalid`, "validation_failed", details);
}
