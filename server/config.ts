/**
 * The only reader of process.env. The environment is parsed once with zod; a bad value stops the
 * boot with a message naming every offending variable. Defaults make `npm start` work on a fresh
 * clone: an embedded SQLite file under ./data, no Redis, a development secret kept in ./data.
 */
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_EVENT_LOOP_RESOLUTION_MS } from "./metrics.ts";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** Express's names for address ranges, usable in TRUST_PROXY. */
const PROXY_RANGE_NAMES = ["loopback", "linklocal", "uniquelocal"];

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (!family || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/**
 * Which peers may set X-Forwarded-For (Express's "trust proxy"): off, the number of proxies in
 * front of the server, or their addresses. Never `true`: that takes the left-most entry, which
 * the client itself writes, so every request could claim a new IP past the per-IP limits.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((value, ctx): false | number | string[] => {
    if (value === "" || value === "false" || value === "0") return false;
    if (/^\d{1,2}$/.test(value)) return Number(value);
    const entries = value.split(",").map((e) => e.trim()).filter(Boolean);
    if (entries.length > 0 && entries.every(isProxyAddress)) return entries;
    ctx.addIssue({
      code: "custom",
      message: "must be a hop count (0 = off) or a comma-separated list of proxy addresses, subnets, loopback, linklocal or uniquelocal",
    });
    return z.NEVER;
  });

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  PUBLIC_URL: z.url().optional(),
  TRUST_PROXY: trustProxy.default(false),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must start with postgres://, postgresql:// or sqlite:")
    .default("sqlite:./data/syncforge.sqlite"),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_SSL: bool.default(false),
  UPDATE_LOG_SYNCHRONOUS_COMMIT: bool.default(false),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(),
  REDIS_PREFIX: z.string().min(1).default("syncforge"),
  SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  LOG_LEVEL: z.enum(["error", "warn", "info", "http", "verbose", "debug", "silly"]).optional(),
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(7 * 24 * 3600).default(3600),
  STORE_DEBOUNCE_MS: z.coerce.number().int().min(0).default(2000),
  AWARENESS_MAX_STATE_BYTES: z.coerce.number().int().min(256).max(1024 * 1024).default(8192),
  AWARENESS_UPDATES_PER_SECOND: z.coerce.number().min(1).max(10_000).default(60),
  AWARENESS_REMOTE_TIMEOUT_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  DOCUMENT_MESSAGES_PER_SECOND: z.coerce.number().min(1).max(100_000).default(200),
  DOCUMENT_MESSAGES_BURST: z.coerce.number().int().min(1).max(100_000).default(400),
  CONNECTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(24 * 3600 * 1000).default(30_000),
  UPDATE_COMMIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3600 * 1000).default(10_000),
  PRESENCE_TTL_MS: z.coerce.number().int().min(300).max(600_000).default(15_000),
  /** Live log entries kept per organisation (issue 20). */
  LIVE_LOG_HISTORY: z.coerce.number().int().min(10).max(100_000).default(1000),
  STORE_MAX_DEBOUNCE_MS: z.coerce.number().int().min(0).default(10000),
  SNAPSHOT_CACHE_MB: z.coerce.number().min(0).max(64 * 1024).default(64),
  METRICS_EVENT_LOOP_RESOLUTION_MS: z.coerce.number().int().min(1).max(60_000).default(DEFAULT_EVENT_LOOP_RESOLUTION_MS),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10000),
  BCRYPT_ROUNDS: z.coerce.number().int().min(4).max(15).default(10),
  AUTH_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(20),
  SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(90 * 24 * 3600).default(14 * 24 * 3600),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, "must start with smtp:// or smtps://").optional(),
  MAIL_FROM: z.string().min(3).default("SyncForge <no-reply@syncforge.local>"),
  MAIL_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(3),
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .refine((v) => v.split(",").map((s) => s.trim()).filter(Boolean).every((o) => URL.canParse(o) && new URL(o).origin === o), "a comma-separated list of origins, as browsers send them: scheme://host[:port], lowercase, no path, no *"),
  STRIPE_SECRET_KEY: z.string().optional(),
  STRIPE_WEBHOOK_SECRET: z.string().optional(),
  STRIPE_API_URL: z.url().optional(),
  // Billing with Stripe (docs/billing.md): a recurring price per self-serve plan, an optional
  // usage price on a meter, and where Checkout and the portal send the customer back.
  STRIPE_PRICE_STARTER: z.string().startsWith("price_").optional(),
  STRIPE_PRICE_PRO: z.string().startsWith("price_").optional(),
  STRIPE_PRICE_BUSINESS: z.string().startsWith("price_").optional(),
  STRIPE_METERED_PRICE: z.string().startsWith("price_").optional(),
  STRIPE_METER_EVENT_NAME: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, "letters, digits and _ . : - only").optional(),
  STRIPE_RETURN_URL: z.url().optional(),
  // Broadcast events (server/realtime/room-events.ts): per connection, and bytes of one event's JSON.
  BROADCAST_EVENTS_PER_SECOND: z.coerce.number().min(0.01).max(10_000).default(60),
  BROADCAST_EVENTS_BURST: z.coerce.number().int().min(1).max(100_000).default(120),
  BROADCAST_MAX_EVENT_BYTES: z.coerce.number().int().min(16).max(64 * 1024 * 1024).default(64 * 1024),
  // Outbound webhooks (issue 22, docs/webhooks.md).
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .default("5000,300000,1800000,7200000,18000000,36000000,36000000")
    .refine((v) => v === "" || v.split(",").every((d) => /^\d+$/.test(d.trim())), "a comma-separated list of delays in ms (empty: no retries)"),
  WEBHOOK_DISABLE_AFTER_MS: z.coerce.number().int().min(1000).default(5 * 24 * 3600 * 1000),
  WEBHOOK_YDOC_COALESCE_MS: z.coerce.number().int().min(10).max(3600 * 1000).default(5000),
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: z.coerce.number().int().min(1).max(256).default(64),
  USAGE_FLUSH_MS: z.coerce.number().int().min(100).max(3600 * 1000).default(15_000),
  /** Benchmarking only: "off" disables server-side comment write authorisation (unsafe). */
  COMMENT_GUARD: z.enum(["on", "off"]).default("on"),
  /** Development only: the collaborative editor demo at /demo, with "pick a name" sign-in (docs/ui.md). */
  DEMO: z.enum(["true", "false"]).default("false"),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  isProduction: boolean;
  isTest: boolean;
  /** trustProxy: Express's "trust proxy" (false, a hop count, or proxy addresses); see TRUST_PROXY. */
  http: { port: number; host: string; publicUrl: string; allowedOrigins: string[]; trustProxy: false | number | string[] };
  /**
   * updateLogSynchronousCommit: PostgreSQL's synchronous_commit for the update log's appends. Off
   * (the default): a commit survives a crash of this process (kill -9) but not of PostgreSQL or
   * its machine in the next fraction of a second — SQLite's guarantee here too (WAL, synchronous
   * NORMAL). On: it survives those as well, at one WAL flush (about a millisecond) per commit.
   */
  database: { url: string; poolMax: number; ssl: boolean; updateLogSynchronousCommit: boolean };
  redis: { url: string; prefix: string } | null;
  secret: string;
  dataDir: string;
  logLevel: string;
  realtime: {
    maxMessageBytes: number;
    storeDebounceMs: number;
    storeMaxDebounceMs: number;
    /** Bytes of document snapshots kept in memory for the next load of their rooms (0: none). */
    snapshotCacheBytes: number;
    /**
     * Per connection: awareness state size and rate (coalesced); how long another process's states
     * are kept without news (its clients renew every 15 s).
     */
    awareness: { maxStateBytes: number; updatesPerSecond: number; remoteTimeoutMs: number };
    documentMessages: { perSecond: number; burst: number };
    /** How long a silent process's presence entries count in Redis (heartbeat every third). */
    presenceTtlMs: number;
    /** A socket that authenticates no document, or then sends nothing, for this long is closed (4408). */
    connectionTimeoutMs: number;
    /**
     * A socket whose outbound messages have waited this long for the update log to commit (the
     * database is down) is closed with 1013 (durable-outbound.ts).
     */
    updateCommitTimeoutMs: number;
    /** Broadcast events per connection (token bucket) and the largest event's JSON in bytes. */
    broadcast: { perSecond: number; burst: number; maxEventBytes: number };
  };
  tokens: { accessTokenTtlSeconds: number };
  /** The live log (server/domain/live-log): entries kept per organisation. */
  liveLog: { history: number };
  /** How often the event-loop delay histogram of /metrics samples (see server/metrics.ts). */
  metrics: { eventLoopResolutionMs: number };
  shutdownTimeoutMs: number;
  /** perAddressPerHour: mails of one kind (verification, reset, invitation, …) to one address. */
  mail: { smtpUrl: string | null; from: string; perAddressPerHour: number };
  /** Dashboard accounts: bcrypt cost, auth attempts per IP per minute, session lifetime. */
  auth: { bcryptRounds: number; rateLimitPerMinute: number; sessionTtlSeconds: number };
  /**
   * Billing is on iff secretKey is set. prices: the recurring price of each self-serve plan (a plan
   * without one cannot be bought); meteredPrice joins every Checkout; meterEventName: usage is
   * reported to that meter (null: not reported); returnUrl: where Checkout and the portal return.
   */
  stripe: {
    secretKey: string | null;
    webhookSecret: string | null;
    apiUrl: string | null;
    prices: { starter: string | null; pro: string | null; business: string | null };
    meteredPrice: string | null;
    meterEventName: string | null;
    returnUrl: string;
  };
  /** How often each process writes its usage counts (docs/billing.md "What is metered"). */
  usage: { flushMs: number };
  /** The /demo editor (DEMO=true; refused in production: anyone may sign in to its sandbox org). */
  demo: { enabled: boolean };
  /** guard false only for benchmarks: comment writes are then not authorised (unsafe). */
  comments: { guard: boolean };
  /** Outbound webhooks: delivery timeout, retry delays, disabling, ydocUpdated window, SSRF guard. */
  webhooks: WebhooksConfig;
}

export interface WebhooksConfig {
  /** Allow endpoints on loopback/private/link-local addresses (tests, private networks). */
  allowPrivate: boolean;
  timeoutMs: number;
  /** Delays before each retry (the first attempt is immediate). */
  retryScheduleMs: number[];
  /** An endpoint failing without a success for this long is disabled. */
  disableAfterMs: number;
  /** At most one ydocUpdated per room per window. */
  ydocCoalesceMs: number;
  concurrencyPerEndpoint: number;
}

export class ConfigError extends Error {}

/** Parse an environment (process.env by default) into the config every factory takes a slice of. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const env = parsed.data;
  const billingProblems = stripeProblems(env);
  if (billingProblems.length > 0) throw new ConfigError(`Invalid configuration:\n${billingProblems.map((p) => `  ${p}`).join("\n")}`);
  const isProduction = env.NODE_ENV === "production";
  if (isProduction) {
    const problems = productionProblems(env);
    if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  return {
    env: env.NODE_ENV,
    isProduction,
    isTest: env.NODE_ENV === "test",
    http: {
      port: env.PORT,
      host: env.HOST,
      publicUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
      allowedOrigins: env.ALLOWED_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean),
      trustProxy: env.TRUST_PROXY,
    },
    database: { url: env.DATABASE_URL, poolMax: env.DATABASE_POOL_MAX, ssl: env.DATABASE_SSL, updateLogSynchronousCommit: env.UPDATE_LOG_SYNCHRONOUS_COMMIT },
    redis: env.REDIS_URL ? { url: env.REDIS_URL, prefix: env.REDIS_PREFIX } : null,
    secret: env.SECRET ?? developmentSecret(env.DATA_DIR),
    dataDir: env.DATA_DIR,
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === "test" ? "error" : "info"),
    realtime: {
      maxMessageBytes: env.MAX_MESSAGE_BYTES,
      storeDebounceMs: env.STORE_DEBOUNCE_MS,
      storeMaxDebounceMs: env.STORE_MAX_DEBOUNCE_MS,
      snapshotCacheBytes: Math.floor(env.SNAPSHOT_CACHE_MB * 1024 * 1024),
      awareness: {
        maxStateBytes: env.AWARENESS_MAX_STATE_BYTES,
        updatesPerSecond: env.AWARENESS_UPDATES_PER_SECOND,
        remoteTimeoutMs: env.AWARENESS_REMOTE_TIMEOUT_MS,
      },
      documentMessages: { perSecond: env.DOCUMENT_MESSAGES_PER_SECOND, burst: env.DOCUMENT_MESSAGES_BURST },
      presenceTtlMs: env.PRESENCE_TTL_MS,
      connectionTimeoutMs: env.CONNECTION_TIMEOUT_MS,
      updateCommitTimeoutMs: env.UPDATE_COMMIT_TIMEOUT_MS,
      broadcast: { perSecond: env.BROADCAST_EVENTS_PER_SECOND, burst: env.BROADCAST_EVENTS_BURST, maxEventBytes: env.BROADCAST_MAX_EVENT_BYTES },
    },
    tokens: { accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS },
    liveLog: { history: env.LIVE_LOG_HISTORY },
    metrics: { eventLoopResolutionMs: env.METRICS_EVENT_LOOP_RESOLUTION_MS },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    mail: { smtpUrl: env.SMTP_URL ?? null, from: env.MAIL_FROM, perAddressPerHour: env.MAIL_RATE_LIMIT },
    auth: { bcryptRounds: env.BCRYPT_ROUNDS, rateLimitPerMinute: env.AUTH_RATE_LIMIT, sessionTtlSeconds: env.SESSION_TTL_SECONDS },
    stripe: {
      secretKey: env.STRIPE_SECRET_KEY ?? null,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET ?? null,
      apiUrl: env.STRIPE_API_URL ?? null,
      prices: { starter: env.STRIPE_PRICE_STARTER ?? null, pro: env.STRIPE_PRICE_PRO ?? null, business: env.STRIPE_PRICE_BUSINESS ?? null },
      meteredPrice: env.STRIPE_METERED_PRICE ?? null,
      meterEventName: env.STRIPE_METER_EVENT_NAME ?? null,
      returnUrl: env.STRIPE_RETURN_URL ?? env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
    },
    comments: { guard: env.COMMENT_GUARD === "on" },
    webhooks: {
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryScheduleMs: env.WEBHOOK_RETRY_SCHEDULE_MS.split(",").map((d) => d.trim()).filter(Boolean).map(Number),
      disableAfterMs: env.WEBHOOK_DISABLE_AFTER_MS,
      ydocCoalesceMs: env.WEBHOOK_YDOC_COALESCE_MS,
      concurrencyPerEndpoint: env.WEBHOOK_CONCURRENCY_PER_ENDPOINT,
    },
    usage: { flushMs: env.USAGE_FLUSH_MS },
    demo: { enabled: env.DEMO === "true" },
  };
}

/**
 * What development tolerates and production must not: no SECRET, a SECRET of one repeated
 * character (a placeholder, not a secret), and a bcrypt cost cheap enough to guess passwords at.
 */
function productionProblems(env: Env): string[] {
  const problems: string[] = [];
  if (!env.SECRET) problems.push("SECRET: required when NODE_ENV=production");
  else if (/^(.)\1*$/su.test(env.SECRET)) problems.push("SECRET: must not be one repeated character when NODE_ENV=production");
  if (env.BCRYPT_ROUNDS < 10) problems.push("BCRYPT_ROUNDS: must be at least 10 when NODE_ENV=production");
  if (env.DEMO === "true") problems.push("DEMO: the demo lets anyone sign in; it must be off when NODE_ENV=production");
  return problems;
}

/**
 * Billing on (STRIPE_SECRET_KEY) without a webhook secret would sell subscriptions and never learn
 * that they were paid, changed or cancelled; and the price of one plan must not be another's.
 */
function stripeProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.STRIPE_SECRET_KEY && !env.STRIPE_WEBHOOK_SECRET) problems.push("STRIPE_WEBHOOK_SECRET: required when STRIPE_SECRET_KEY is set");
  const prices = [env.STRIPE_PRICE_STARTER, env.STRIPE_PRICE_PRO, env.STRIPE_PRICE_BUSINESS, env.STRIPE_METERED_PRICE].filter(Boolean);
  if (new Set(prices).size !== prices.length) problems.push("STRIPE_PRICE_*: each plan (and the metered price) needs its own price id");
  return problems;
}

/**
 * Outside production a missing SECRET is generated once and kept in the data directory, so tokens
 * survive a restart without any setup. Production refuses to boot without one (see loadConfig).
 */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, "dev-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
