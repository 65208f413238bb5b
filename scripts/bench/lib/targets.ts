/**
 * The servers a benchmark compares: SyncForge with its real features on (access tokens, the
 * write-ahead update log and compaction) over PostgreSQL and over SQLite, and a bare in-memory
 * @hocuspocus/server as the baseline. Each start() gives a fresh server process and an empty
 * database, the URL clients connect to, a token minter and a way to read back what was persisted.
 */
import * as Y from "yjs";
import pg from "pg";
import sqlite3 from "sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { AccessTokens } from "../../../server/auth/access-token.ts";
import { toDocumentName } from "../../../protocol/document-name.ts";
import { spawnServerProcess, readMemory, type ServerProcess } from "./proc.ts";

export type TargetKey = "syncforge-postgres" | "syncforge-sqlite" | "bare-hocuspocus";

export interface Target {
  /** TargetKey for the three built in; other benchmarks may define their own (e.g. bare y-websocket). */
  key: string;
  label: string;
  /** True when the server stores documents durably (the baseline does not). */
  persists: boolean;
  /** `env` adds to (or overrides) the server's environment; the baseline ignores it. */
  start(env?: Record<string, string>): Promise<RunningTarget>;
}

export interface RunningTarget {
  target: Target;
  /** WebSocket URL for HocuspocusProviderWebsocket. */
  url: string;
  server: ServerProcess;
  /** An access token granting write access to every room (ignored by the baseline). */
  token(userId: string): Promise<string>;
  /** Process ids whose CPU counts as "database": PostgreSQL backends serving the server. */
  databasePids(): Promise<number[]>;
  /**
   * The document as the database holds it right now (snapshot plus update log, read in one
   * transaction), or null for a server that persists nothing.
   */
  readPersisted(roomId: string): Promise<Y.Doc | null>;
  memory(): { rss: number; peakRss: number } | null;
  /** SyncForge targets: the database the server uses (benchmarks that seed rows, e.g. webhooks). */
  databaseUrl?: string;
  stop(): Promise<void>;
  /**
   * For crash checks, on servers that persist: SIGKILL the server process (no shutdown hooks, no
   * last store) and resolve once it is gone.
   */
  kill?(): Promise<void>;
  /**
   * Start a new server process on the same database, data directory and secret (so tokens stay
   * valid), killing the old one first if it still runs; `server` and `url` then name the new one.
   */
  restart?(): Promise<void>;
}

export const BENCH_ORG = "bench";
const LISTENING = /SyncForge is listening.*?"port":(\d+)/;

/** PostgreSQL database the benchmark owns; BENCH_DATABASE_URL overrides it. */
export function benchPostgresUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/syncforge_bench";
}

export const TARGETS: Record<TargetKey, Target> = {
  "syncforge-postgres": {
    key: "syncforge-postgres",
    label: "SyncForge (PostgreSQL)",
    persists: true,
    start: (env) => startSyncForge(TARGETS["syncforge-postgres"], "postgres", env),
  },
  "syncforge-sqlite": {
    key: "syncforge-sqlite",
    label: "SyncForge (SQLite)",
    persists: true,
    start: (env) => startSyncForge(TARGETS["syncforge-sqlite"], "sqlite", env),
  },
  "bare-hocuspocus": {
    key: "bare-hocuspocus",
    label: "bare Hocuspocus",
    persists: false,
    start: () => startBareHocuspocus(TARGETS["bare-hocuspocus"]),
  },
};

/** The three configurations in table order, baseline last. */
export const ALL_TARGETS: Target[] = [TARGETS["syncforge-postgres"], TARGETS["syncforge-sqlite"], TARGETS["bare-hocuspocus"]];

/** The configurations `--servers` selects (all when it names none), in table order. */
export function selectTargets(servers: string[]): Target[] {
  return servers.length === 0 ? ALL_TARGETS : ALL_TARGETS.filter((t) => servers.includes(t.key));
}

async function startSyncForge(target: Target, dialect: "postgres" | "sqlite", extraEnv: Record<string, string> = {}): Promise<RunningTarget> {
  const secret = randomBytes(32).toString("hex");
  const tokens = new AccessTokens(secret, 3600);
  const dataDir = mkdtempSync(path.join(tmpdir(), "syncforge-bench-"));
  const databaseUrl = dialect === "postgres" ? benchPostgresUrl() : `sqlite:${path.join(dataDir, "bench.sqlite")}`;
  if (dialect === "postgres") await resetPostgres(databaseUrl);

  const env: Record<string, string | undefined> = {
    NODE_ENV: "production",
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    SECRET: secret,
    LOG_LEVEL: "info",
    DATA_DIR: dataDir,
    ...extraEnv,
  };
  const spawnServer = () => spawnServerProcess({ script: "server/main.ts", env: withoutInherited(env), portPattern: LISTENING });
  let server: ServerProcess;
  try {
    server = await spawnServer();
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const pgClient = dialect === "postgres" ? new pg.Client({ connectionString: databaseUrl }) : null;
  await pgClient?.connect();
  const databaseName = dialect === "postgres" ? new URL(databaseUrl).pathname.slice(1) : "";

  const collabUrl = (port: number) => `ws://127.0.0.1:${port}/collab`;
  let killed = false;
  const running: RunningTarget = {
    target,
    url: collabUrl(server.port),
    server,
    token: async (userId) =>
      (await tokens.sign({ userId, orgId: BENCH_ORG, permissions: { "*": ["room:write"] }, userInfo: { name: userId } })).token,
    databasePids: async () => {
      if (!pgClient) return [];
      const { rows } = await pgClient.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [databaseName],
      );
      return rows.map((r) => r.pid);
    },
    readPersisted: async (roomId) => {
      const name = toDocumentName(BENCH_ORG, roomId);
      const rows = pgClient ? await readPostgresRows(pgClient, name) : await readSqliteRows(databaseUrl.slice("sqlite:".length), name);
      const doc = new Y.Doc();
      for (const row of rows) Y.applyUpdate(doc, row);
      return doc;
    },
    memory: () => readMemory(running.server.pid),
    databaseUrl,
    stop: async () => {
      try {
        await pgClient?.end();
        const code = await running.server.stop();
        if (code !== 0 && !killed) process.stderr.write(`${target.label} exited with ${code}:\n${running.server.output().slice(-2000)}\n`);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    kill: async () => {
      killed = true;
      await killProcess(running.server);
    },
    restart: async () => {
      await killProcess(running.server);
      running.server = await spawnServer();
      running.url = collabUrl(running.server.port);
      killed = false;
    },
  };
  return running;
}

/** SIGKILL and wait for the exit (at once if the process is already gone). */
async function killProcess(server: ServerProcess): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
}

async function startBareHocuspocus(target: Target): Promise<RunningTarget> {
  return startPlainServer(target, {
    script: "scripts/bench/servers/bare-hocuspocus.ts",
    portPattern: /listening \{"port":(\d+)\}/,
    url: (port) => `ws://127.0.0.1:${port}`,
  });
}

/**
 * A baseline server without tokens or storage: any script that prints its port (see
 * servers/bare-hocuspocus.ts). Exported for benchmarks that bring their own baseline.
 */
export async function startPlainServer(
  target: Target,
  options: { script: string; portPattern: RegExp; url: (port: number) => string; env?: Record<string, string> },
): Promise<RunningTarget> {
  const server = await spawnServerProcess({ script: options.script, env: { NODE_ENV: "production", ...options.env }, portPattern: options.portPattern });
  return {
    target,
    url: options.url(server.port),
    server,
    token: async () => "bare",
    databasePids: async () => [],
    readPersisted: async () => null,
    memory: () => readMemory(server.pid),
    stop: async () => {
      await server.stop();
    },
  };
}

/** The server reads only what we pass: drop inherited variables that would change its setup. */
function withoutInherited(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { REDIS_URL: undefined, PUBLIC_URL: undefined, DATABASE_POOL_MAX: undefined, STORE_DEBOUNCE_MS: undefined, STORE_MAX_DEBOUNCE_MS: undefined, ...env };
}

/** Create the benchmark database when missing and empty its document tables. */
async function resetPostgres(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  try {
    const found = await adminClient.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await adminClient.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
  } finally {
    await adminClient.end();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('document_updates', 'room_documents')",
    );
    if (rows.length > 0) await client.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(", ")} RESTART IDENTITY`);
  } finally {
    await client.end();
  }
}

/** Snapshot then log rows, in one REPEATABLE READ transaction so a compaction cannot fall between. */
async function readPostgresRows(client: pg.Client, name: string): Promise<Uint8Array[]> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const snapshot = await client.query<{ state: Buffer }>("SELECT state FROM room_documents WHERE name = $1", [name]);
    const log = await client.query<{ data: Buffer }>("SELECT data FROM document_updates WHERE document_name = $1 ORDER BY id", [name]);
    return [...snapshot.rows.map((r) => new Uint8Array(r.state)), ...log.rows.map((r) => new Uint8Array(r.data))];
  } finally {
    await client.query("COMMIT");
  }
}

/** Same for SQLite: a read transaction on a WAL database sees one consistent snapshot. */
function readSqliteRows(file: string, name: string): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      const rows: Uint8Array[] = [];
      const fail = (error: Error) => db.close(() => reject(error));
      db.serialize(() => {
        db.run("BEGIN");
        db.all<{ state: Buffer }>("SELECT state FROM room_documents WHERE name = ?", [name], (error, snapshot) => {
          if (error) return fail(error);
          rows.unshift(...snapshot.map((r) => new Uint8Array(r.state)));
        });
        db.all<{ data: Buffer }>("SELECT data FROM document_updates WHERE document_name = ? ORDER BY id", [name], (error, log) => {
          if (error) return fail(error);
          rows.push(...log.map((r) => new Uint8Array(r.data)));
        });
        db.run("COMMIT", (error) => {
          if (error) return fail(error);
          db.close((closeError) => (closeError ? reject(closeError) : resolve(rows)));
        });
      });
    });
  });
}
