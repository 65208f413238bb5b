/**
 * The collaborative editor demo (examples/editor), for trying SyncForge in two browser windows:
 * DEMO=true builds the page with Vite at boot and serves it at /demo, and `POST /demo/token`
 * { name, role, room? } signs anyone in to a sandbox organisation ("demo", which no real
 * organisation's id can be) with the server secret, as trusted code mints tokens: an "editor" may
 * write the document, a "commenter" reads it and writes comments only. Development only (config.ts
 * refuses DEMO in production); Vite is a development dependency.
 */
import express, { Router } from "express";
import path from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { AccessTokens } from "../../auth/access-token.ts";
import { colorForUser } from "../../../protocol/colors.ts";
import { isValidRoomId } from "../../../protocol/document-name.ts";
import { parseInput } from "../validate.ts";

export const DEMO_ORG = "demo";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/editor");

const signInSchema = z
  .object({
    name: z.string().trim().min(1).max(40),
    role: z.enum(["editor", "commenter"]).default("editor"),
    room: z.string().refine(isValidRoomId, "a room id").optional(),
  })
  .strict();

/** The user id a display name signs in as: lower-case letters, digits and dashes. */
export function demoUserId(name: string): string {
  return name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "guest";
}

export async function demoRoutes({ tokens }: { tokens: AccessTokens }): Promise<{ router: Router; close(): Promise<void> }> {
  const outDir = await mkdtemp(path.join(tmpdir(), "syncforge-demo-"));
  const { build } = await import("vite");
  await build({ root: ROOT, base: "/demo/", logLevel: "warn", configFile: false, build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 4096 } });
  const router = Router();
  router.post("/demo/token", async (req, res) => {
    const input = parseInput(signInSchema, req.body);
    const userId = demoUserId(input.name);
    const permissions = input.role === "editor" ? ["room:write" as const] : ["room:read" as const, "comments:write" as const];
    const { token } = await tokens.sign({
      userId,
      orgId: DEMO_ORG,
      // Every demo room: the inbox asks with no room, and any token of the user will do there.
      permissions: { "*": permissions },
      userInfo: { name: input.name, color: colorForUser(userId) },
    });
    res.json({ token });
  });
  router.use("/demo", express.static(outDir, { index: "index.html" }));
  return { router, close: () => rm(outDir, { recursive: true, force: true }) };
}
