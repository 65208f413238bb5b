/**
 * `npm run build:client`: the SDK as ES modules in client/dist (git-ignored) for bundlers that do
 * not compile TypeScript from node_modules. The package's "exports" point at the .ts sources, which
 * carry the types; Yjs, the provider and React stay external (peer dependencies of the app).
 */
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  logLevel: "warn",
  build: {
    outDir: here("./dist"),
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: { client: here("./core/index.ts"), react: here("./react/index.ts") },
      formats: ["es"],
    },
    rollupOptions: {
      external: [/^yjs/, /^y-protocols/, /^lib0/, /^@hocuspocus\//, /^react/],
    },
  },
});
