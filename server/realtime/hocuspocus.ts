/**
 * The Hocuspocus instance: configuration and the two adjustments we make to its internals.
 *
 * 1. Connection.messageAddress is the address Hocuspocus writes on every reply and broadcast. Ours
 *    gives the client's plain room id instead of the per-organisation document name, so broadcasts
 *    stay encode-once and need no rewriting on the way out.
 * 2. The onAwarenessUpdate hook runs only when an extension has it, and its `states` (every
 *    client's state copied into an array) is built when read (see lightenAwarenessUpdateHook).
 *
 * Both reach into Hocuspocus internals: the version is pinned exactly in package.json and asserted
 * here, and test/unit/realtime/hocuspocus-internals.test.ts fails when the shape changes.
 */
import { Connection, Hocuspocus, isTransactionOrigin, type Document, type Extension } from "@hocuspocus/server";
import { logger } from "../logger.ts";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { clientAddressOf } from "../../protocol/document-name.ts";

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
  const hocuspocus = new Hocuspocus({
    name: "syncforge",
    quiet: true,
    extensions: options.extensions,
    debounce: options.debounceMs,
    maxDebounce: options.maxDebounceMs,
    timeout: options.timeoutMs ?? 30_000,
    unloadImmediately: true,
  });
  lightenAwarenessUpdateHook(hocuspocus);
  return hocuspocus;
}

/** A name, not a literal, in our listener: hookListenersOf recognises Hocuspocus' by the literal. */
const AWARENESS_UPDATE_HOOK = "onAwarenessUpdate";

type AwarenessListener = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => void;

/**
 * Hocuspocus' loadDocument registers, per document, an awareness "update" listener that runs the
 * onAwarenessUpdate hook with `states: awarenessStatesToArray(awareness.getStates())` — a copy of
 * every client's state, made for every awareness update whether or not an extension reads it (in
 * a room of 200, 200 object spreads per pointer move; no SyncForge extension has the hook, the
 * Redis extension has it and does not read `states`). This replaces that listener, once loadDocument
 * has registered it, with one that runs the hook only when an extension has it, with the same
 * payload, and `states` built on first read. Errors from the hook are logged, not left unhandled.
 */
export function lightenAwarenessUpdateHook(hocuspocus: Hocuspocus): void {
  const instance = hocuspocus as unknown as { loadDocument: (...args: unknown[]) => Promise<Document> };
  const load = instance.loadDocument.bind(hocuspocus);
  instance.loadDocument = async (...args: unknown[]) => {
    const document = await load(...args);
    replaceAwarenessUpdateListener(hocuspocus, document);
    return document;
  };
}

/** Hocuspocus' own onAwarenessUpdate listener on `document.awareness`, recognised by its source. */
export function hookListenersOf(document: Document): AwarenessListener[] {
  const observers = (document.awareness as unknown as { _observers: Map<string, Set<AwarenessListener>> })._observers.get("update");
  return [...(observers ?? [])].filter((listener) => listener.toString().includes('"onAwarenessUpdate"'));
}

/**
 * Whether an extension has onAwarenessUpdate. Hocuspocus adds its configuration's own hooks as the
 * last extension; unless configured, that one is the no-op default and does not count.
 */
export function hasAwarenessUpdateHook(hocuspocus: Hocuspocus): boolean {
  const configured = hocuspocus.configuration.onAwarenessUpdate;
  return hocuspocus.configuration.extensions.some(
    (extension) => typeof extension.onAwarenessUpdate === "function" && !(extension.onAwarenessUpdate === configured && isDefaultHook(configured)),
  );
}

function isDefaultHook(hook: unknown): boolean {
  return String(hook).replace(/\s+/g, "") === "()=>newPromise((r)=>r(null))";
}

function replaceAwarenessUpdateListener(hocuspocus: Hocuspocus, document: Document): void {
  const originals = hookListenersOf(document);
  if (originals.length !== 1) {
    logger.warn("Hocuspocus' awareness hook listener was not found; leaving it as it is", { found: originals.length });
    return;
  }
  document.awareness.off("update", originals[0]!);
  if (!hasAwarenessUpdateHook(hocuspocus)) return;
  const awareness = document.awareness;
  document.awareness.on("update", (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
    let states: Array<{ clientId: number } & Record<string, unknown>> | undefined;
    const payload = {
      document,
      documentName: document.name,
      instance: hocuspocus,
      ...change,
      transactionOrigin: origin,
      connection: isTransactionOrigin(origin) && origin.source === "connection" ? origin.connection : undefined,
      awareness,
      get states() {
        states ??= Array.from(awareness.getStates(), ([clientId, state]) => ({ clientId, ...state }));
        return states;
      },
    };
    hocuspocus.hooks(AWARENESS_UPDATE_HOOK, payload as never).catch((error: Error) => {
      logger.warn("An onAwarenessUpdate hook failed", { error: error?.message, documentName: document.name });
    });
  });
}
