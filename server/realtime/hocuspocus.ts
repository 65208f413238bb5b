/**
 * The Hocuspocus instance: configuration and the one adjustment we make to its internals.
 *
 * Connection.messageAddress is the address Hocuspocus writes on every reply and broadcast. Ours
 * gives the client's plain room id instead of the per-organisation document name, so broadcasts
 * stay encode-once and need no rewriting on the way out. This reaches into Hocuspocus internals:
 * the version is pinned exactly in package.json and asserted here, and
 * test/unit/realtime/hocuspocus-internals.test.ts fails when the shape changes.
 */
import { Connection, Hocuspocus, type Extension } from "@hocuspocus/server";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { clientAddressOf } from "./document-name.ts";

export const PINNED_HOCUSPOCUS_VERSION = "4.7.0";

let patched = false;

/** Make Connection.messageAddress answer the client's address; idempotent. */
export function patchConnectionAddress(): void {
  if (patched) return;
  const installed = installedHocuspocusVersion();
  if (installed !== PINNED_HOCUSPOCUS_VERSION) {
    throw new Error(
      `@hocuspocus/server ${installed} is installed but SyncForge is built against ${PINNED_HOCUSPOCUS_VERSION}; re-check server/realtime/hocuspocus.ts`,
    );
  }
  const descriptor = Object.getOwnPropertyDescriptor(Connection.prototype, "messageAddress");
  if (!descriptor?.get) throw new Error("Connection.messageAddress is no longer a getter; re-check server/realtime/hocuspocus.ts");
  Object.defineProperty(Connection.prototype, "messageAddress", {
    configurable: true,
    get(this: Connection) {
      const document = this.document as Connection["document"] & { _clientAddress?: string };
      const plain = document._clientAddress ?? cacheClientAddress(document);
      return this.sessionId ? `${plain}\u0000${this.sessionId}` : plain;
    },
  });
  patched = true;
}

/** The version of @hocuspocus/server that Node actually resolves. */
export function installedHocuspocusVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve("@hocuspocus/server")));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "@hocuspocus/server") return pkg.version ?? "unknown";
    } catch {
      // keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

function cacheClientAddress(document: { name: string; _clientAddress?: string }): string {
  document._clientAddress = clientAddressOf(document.name);
  return document._clientAddress;
}

export interface RealtimeOptions {
  extensions: Extension[];
  debounceMs: number;
  maxDebounceMs: number;
  timeoutMs?: number;
}

export function createHocuspocus(options: RealtimeOptions): Hocuspocus {
  patchConnectionAddress();
  return new Hocuspocus({
    name: "syncforge",
    quiet: true,
    extensions: options.extensions,
    debounce: options.debounceMs,
    maxDebounce: options.maxDebounceMs,
    timeout: options.timeoutMs ?? 30_000,
    unloadImmediately: true,
  });
}
