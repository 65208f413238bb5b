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
