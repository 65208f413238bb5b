/**
 * Test servers: in-process (createApp on port 0) or as a real child process (`node server/main.ts`)
 * for restarts, kill -9 and multi-process tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { loadConfig, type Config } from "../../server/config.ts";
import { createApp, type App, type AppOptions } from "../../server/app.ts";
import { AccessTokens, type RoomPermissions, type UserInfo } from "../../server/auth/access-token.ts";
import { ensureTestDatabase, testDatabaseUrl } from "./database.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TEST_SECRET = "test-secret-test-secret-test-secret-0123456789";

export interface TestServer {
  app: App;
  port: number;
  httpUrl: string;
  collabUrl: string;
  close(): Promise<void>;
}

export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: testDatabaseUrl(),
    SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "error",
    STORE_DEBOUNCE_MS: "200",
    STORE_MAX_DEBOUNCE_MS: "1000",
    ...overrides,
  };
}

/** Start an app in this process on a free port. */
export async function startServer(overrides: Record<string, string | undefined> = {}, options: AppOptions = {}): Promise<TestServer> {
  const env = testEnv(overrides);
  if (env.DATABASE_URL?.startsWith("postgres")) await ensureTestDatabase(env.DATABASE_URL);
  const config: Config = loadConfig(env as NodeJS.ProcessEnv);
  const app = await createApp(config, options);
  const port = await app.listen();
  return {
    app,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    close: () => app.close(),
  };
}

export interface ChildServer {
  process: ChildProcess;
  port: number;
  httpUrl: string;
  collabUrl: string;
  /** SIGTERM and wait for a graceful exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<void>;
  output(): string;
}

/** Start `node server/main.ts` as a child process; resolves once it listens. */
export async function spawnServer(overrides: Record<string, string | undefined> = {}): Promise<ChildServer> {
  const env = testEnv({ LOG_LEVEL: "info", ...overrides });
  if (env.DATABASE_URL?.startsWith("postgres")) await ensureTestDatabase(env.DATABASE_URL);
  const child = spawn(process.execPath, [path.join(ROOT, "server/main.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    // A child that never starts must not outlive the test: its pipes would keep mocha from exiting.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start:\n${out}`));
    }, 30_000);
    const onData = () => {
      const match = /SyncForge is listening.*?"port":(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stderr!.off("data", onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening:\n${out}`));
    });
  });
  return {
    process: child,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    output: () => out,
  };
}

const tokens = new AccessTokens(TEST_SECRET, 3600);

/** Mint an access token the way the server's own issuing endpoint does. */
export async function mintToken(options: {
  userId?: string;
  orgId?: string;
  permissions?: RoomPermissions;
  userInfo?: UserInfo;
  now?: Date;
}): Promise<string> {
  const { token } = await tokens.sign(
    {
      userId: options.userId ?? "user-1",
      orgId: options.orgId ?? "org-test",
      permissions: options.permissions ?? { "*": ["room:write"] },
      userInfo: options.userInfo ?? { name: options.userId ?? "user-1" },
    },
    options.now,
  );
  return token;
}
