/**
 * Process entry: load config, start the server, shut down gracefully on SIGTERM/SIGINT.
 */
import { loadConfig, ConfigError } from "./config.ts";
import { createApp } from "./app.ts";
import { logger, routeConsoleToLogger } from "./logger.ts";

routeConsoleToLogger();

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  const port = await app.listen();
  logger.info("SyncForge is listening", {
    port,
    http: `http://localhost:${port}`,
    collab: `ws://localhost:${port}/collab`,
    database: app.db.dialect,
    redis: config.redis ? "on" : "off",
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("Shutting down", { signal });
    const force = setTimeout(() => {
      logger.error("Shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error) => {
        logger.error("Shutdown failed", { error: error?.message });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

process.on("unhandledRejection", (reason) => {
  logger.error("Unhandled promise rejection", { error: (reason as Error)?.message ?? String(reason) });
});
process.on("uncaughtException", (error) => {
  logger.error("Uncaught exception", { error: error.message, stack: error.stack });
});

main().catch((error) => {
  logger.error("SyncForge failed to start", { error: error?.message, stack: error?.stack });
  process.exit(1);
});
