/**
 * winston, configured once: JSON lines in production, readable lines in development, errors only
 * in tests. Messages are constant sentences; data goes in metadata. Never log tokens, passwords,
 * cookies, API keys or document bytes.
 */
import winston from "winston";

const isProduction = process.env.NODE_ENV === "production";
const defaultLevel = process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "error" : "info");

export const logger = winston.createLogger({
  level: defaultLevel,
  format: isProduction
    ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json())
    : winston.format.combine(
        winston.format.timestamp({ format: "HH:mm:ss.SSS" }),
        winston.format.errors({ stack: true }),
        winston.format.printf(({ timestamp, level, message, stack, ...meta }) => {
          const rest = Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : "";
          return `${timestamp} ${level} ${message}${rest}${stack ? `\n${stack}` : ""}`;
        }),
      ),
  transports: [new winston.transports.Console({ stderrLevels: ["error", "warn"] })],
});

export function setLogLevel(level: string): void {
  logger.level = level;
}

/**
 * Hocuspocus and a few other libraries write to the console (e.g. every refused connection or
 * write as console.error). Route that output through winston so it is levelled and structured like
 * ours: log and info become debug, warn and error become warn (they report refusals the server
 * already answered, not failures of the server). Never stringifies document bytes: arguments are
 * reduced to their messages.
 */
export function routeConsoleToLogger(): void {
  const text = (args: unknown[]) =>
    args
      .map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : a && typeof a === "object" && "message" in a ? String((a as { message: unknown }).message) : String(a)))
      .join(" ")
      .slice(0, 2000);
  console.log = (...args: unknown[]) => logger.debug("Library output", { text: text(args) });
  console.info = console.log;
  console.debug = console.log;
  console.warn = (...args: unknown[]) => logger.warn("Library warning", { text: text(args) });
  console.error = (...args: unknown[]) => logger.warn("Library error", { text: text(args) });
}
