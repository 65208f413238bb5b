import { expect } from "chai";
import { loadConfig, ConfigError } from "../../server/config.ts";

// A SECRET keeps these tests pure: without one, loadConfig keeps a generated secret in DATA_DIR.
const SECRET = "unit-test-secret-unit-test-secret-0123";

describe("config", () => {
  it("works with no variables but the secret: the defaults make `npm start` work", () => {
    const config = loadConfig({ SECRET });
    expect(config.env).to.equal("development");
    expect(config.http.port).to.equal(3000);
    expect(config.http.host).to.equal("0.0.0.0");
    expect(config.database.url).to.equal("sqlite:./data/syncforge.sqlite");
    expect(config.redis).to.equal(null);
    expect(config.realtime.maxMessageBytes).to.equal(1024 * 1024);
    expect(config.realtime.storeDebounceMs).to.be.greaterThan(0);
    expect(config.realtime.storeMaxDebounceMs).to.be.at.least(config.realtime.storeDebounceMs);
    expect(config.realtime.snapshotCacheBytes).to.equal(64 * 1024 * 1024);
    expect(config.shutdownTimeoutMs).to.be.greaterThan(0);
    expect(config.secret).to.equal(SECRET);
  });

  it("parses the variables it is given", () => {
    const config = loadConfig({
      SECRET,
      PORT: "0",
      DATABASE_URL: "postgres://u@h:5432/db",
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_PREFIX: "p",
      MAX_MESSAGE_BYTES: "4096",
      SNAPSHOT_CACHE_MB: "0.5",
      NODE_ENV: "test",
    });
    expect(config.realtime.snapshotCacheBytes).to.equal(512 * 1024);
    expect(config.http.port).to.equal(0);
    expect(config.redis).to.deep.equal({ url: "redis://127.0.0.1:6379", prefix: "p" });
    expect(config.realtime.maxMessageBytes).to.equal(4096);
    expect(config.isTest).to.equal(true);
    expect(config.logLevel).to.equal("error");
  });

  it("names every bad variable in one error", () => {
    let error: unknown;
    try {
      loadConfig({ SECRET, PORT: "seventy", DATABASE_URL: "mysql://x", REDIS_URL: "http://x", MAX_MESSAGE_BYTES: "10", LOG_LEVEL: "loud" });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ["PORT", "DATABASE_URL", "REDIS_URL", "MAX_MESSAGE_BYTES", "LOG_LEVEL"]) {
      expect(message).to.contain(name);
    }
  });

  it("names a bad variable on its own", () => {
    expect(() => loadConfig({ SECRET: "short" })).to.throw(ConfigError, /SECRET/);
    expect(() => loadConfig({ SECRET, NODE_ENV: "staging" })).to.throw(ConfigError, /NODE_ENV/);
    expect(() => loadConfig({ SECRET, STORE_DEBOUNCE_MS: "-1" })).to.throw(ConfigError, /STORE_DEBOUNCE_MS/);
  });

  it("LIVE_LOG_HISTORY: live log entries kept per organisation, 1,000 by default, 10 to 100,000", () => {
    expect(loadConfig({ SECRET }).liveLog.history).to.equal(1000);
    expect(loadConfig({ SECRET, LIVE_LOG_HISTORY: "50" }).liveLog.history).to.equal(50);
    for (const bad of ["5", "200000", "many"]) expect(() => loadConfig({ SECRET, LIVE_LOG_HISTORY: bad })).to.throw(ConfigError, /LIVE_LOG_HISTORY/);
  });

  it("takes ALLOWED_ORIGINS as a list of exact origins, none by default", () => {
    expect(loadConfig({ SECRET }).http.allowedOrigins).to.deep.equal([]);
    const origins = loadConfig({ SECRET, ALLOWED_ORIGINS: "https://app.example.com, http://localhost:5173" }).http.allowedOrigins;
    expect(origins).to.deep.equal(["https://app.example.com", "http://localhost:5173"]);
    for (const bad of ["*", "app.example.com", "https://app.example.com/", "https://App.example.com", "https://a.example.com,null"]) {
      expect(() => loadConfig({ SECRET, ALLOWED_ORIGINS: bad }), bad).to.throw(ConfigError, /ALLOWED_ORIGINS/);
    }
  });

  it("requires SECRET in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).to.throw(ConfigError, /SECRET/);
  });

  it("refuses a SECRET of one repeated character and BCRYPT_ROUNDS below 10 in production", () => {
    const production = { NODE_ENV: "production", SECRET };
    expect(loadConfig(production).auth.bcryptRounds).to.equal(10);
    expect(() => loadConfig({ ...production, SECRET: "a".repeat(64) })).to.throw(ConfigError, /SECRET/);
    expect(() => loadConfig({ ...production, BCRYPT_ROUNDS: "9" })).to.throw(ConfigError, /BCRYPT_ROUNDS/);
    // Both named at once.
    expect(() => loadConfig({ NODE_ENV: "production", SECRET: "x".repeat(40), BCRYPT_ROUNDS: "4" })).to.throw(ConfigError, /SECRET[\s\S]*BCRYPT_ROUNDS/);
    // Development and tests keep their fast rounds.
    expect(loadConfig({ SECRET, BCRYPT_ROUNDS: "4" }).auth.bcryptRounds).to.equal(4);
  });

  it("DEMO: off by default, on with DEMO=true, refused in production", () => {
    expect(loadConfig({ SECRET }).demo.enabled).to.equal(false);
    expect(loadConfig({ SECRET, DEMO: "true" }).demo.enabled).to.equal(true);
    expect(() => loadConfig({ NODE_ENV: "production", SECRET, DEMO: "true" })).to.throw(ConfigError, /DEMO/);
  });

  it("TRUST_PROXY: off by default; a hop count or a list of proxy addresses; never `true`", () => {
    expect(loadConfig({ SECRET }).http.trustProxy).to.equal(false);
    expect(loadConfig({ SECRET, TRUST_PROXY: "0" }).http.trustProxy).to.equal(false);
    expect(loadConfig({ SECRET, TRUST_PROXY: "false" }).http.trustProxy).to.equal(false);
    expect(loadConfig({ SECRET, TRUST_PROXY: "1" }).http.trustProxy).to.equal(1);
    expect(loadConfig({ SECRET, TRUST_PROXY: "2" }).http.trustProxy).to.equal(2);
    expect(loadConfig({ SECRET, TRUST_PROXY: "loopback, 10.0.0.0/8,fd00::/8, 192.0.2.1" }).http.trustProxy).to.deep.equal([
      "loopback",
      "10.0.0.0/8",
      "fd00::/8",
      "192.0.2.1",
    ]);
    // `true` would take the left-most X-Forwarded-For entry, which the client writes.
    for (const bad of ["true", "yes", "-1", "10.0.0.0/33", "not-an-address", "1.5"]) {
      expect(() => loadConfig({ SECRET, TRUST_PROXY: bad }), bad).to.throw(ConfigError, /TRUST_PROXY/);
    }
  });

  it("MAIL_RATE_LIMIT: mails of one kind per address per hour, 3 by default", () => {
    expect(loadConfig({ SECRET }).mail.perAddressPerHour).to.equal(3);
    expect(loadConfig({ SECRET, MAIL_RATE_LIMIT: "10" }).mail.perAddressPerHour).to.equal(10);
    expect(() => loadConfig({ SECRET, MAIL_RATE_LIMIT: "0" })).to.throw(ConfigError, /MAIL_RATE_LIMIT/);
  });

  it("Stripe: billing needs a webhook secret and distinct prices", () => {
    expect(loadConfig({ SECRET }).stripe.secretKey).to.equal(null);
    expect(() => loadConfig({ SECRET, STRIPE_SECRET_KEY: "sk_test_x" })).to.throw(ConfigError, /STRIPE_WEBHOOK_SECRET/);
    expect(() => loadConfig({ SECRET, STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: "whsec_x", STRIPE_PRICE_PRO: "price_1", STRIPE_PRICE_BUSINESS: "price_1" })).to.throw(ConfigError, /STRIPE_PRICE/);
    expect(() => loadConfig({ SECRET, STRIPE_PRICE_PRO: "prod_1" })).to.throw(ConfigError, /STRIPE_PRICE_PRO/);
    const on = loadConfig({ SECRET, PUBLIC_URL: "https://sync.example.com", STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: "whsec_x", STRIPE_PRICE_PRO: "price_1" });
    expect(on.stripe).to.include({ secretKey: "sk_test_x", returnUrl: "https://sync.example.com", meterEventName: null });
    expect(on.stripe.prices).to.deep.equal({ starter: null, pro: "price_1", business: null });
  });

  it("WEBHOOK_*: Standard Webhooks' retry schedule, 5-day disabling, 5 s ydocUpdated window, private addresses refused by default", () => {
    const defaults = loadConfig({ SECRET }).webhooks;
    expect(defaults.retryScheduleMs).to.deep.equal([5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]);
    expect(defaults).to.include({ allowPrivate: false, timeoutMs: 10_000, disableAfterMs: 5 * 24 * 3600 * 1000, ydocCoalesceMs: 5000 });
    const set = loadConfig({ SECRET, WEBHOOK_RETRY_SCHEDULE_MS: "100, 200", WEBHOOK_ALLOW_PRIVATE: "1", WEBHOOK_YDOC_COALESCE_MS: "250" }).webhooks;
    expect(set).to.deep.include({ retryScheduleMs: [100, 200], allowPrivate: true, ydocCoalesceMs: 250 });
    expect(loadConfig({ SECRET, WEBHOOK_RETRY_SCHEDULE_MS: "" }).webhooks.retryScheduleMs).to.deep.equal([]);
    expect(() => loadConfig({ SECRET, WEBHOOK_RETRY_SCHEDULE_MS: "5s,1m" })).to.throw(ConfigError, /WEBHOOK_RETRY_SCHEDULE_MS/);
  });
});
