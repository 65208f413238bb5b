/**
 * The dashboard's build: a single-page app in client/dashboard/dist (git-ignored), served by the
 * server at `/` (server/http/dashboard.ts). Built by scripts/build-dashboard.ts at install and
 * start when missing or out of date; no dev server is needed to use it.
 */
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/",
  logLevel: "warn",
  build: {
    outDir: here("./dist"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
});
