/**
 * The composition root: one http.Server carrying Express (HTTP) and Hocuspocus (WebSocket upgrades
 * on /collab). Everything is created here and handed what it needs; nothing else wires modules.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import express, { type Express } from "express";
import helmet from "helmet";
import { WebSocketServer } from "ws";
import { Redis as IORedis } from "ioredis";
import type { Hocuspocus, Extension } from "@hocuspocus/server";
import type { Config } from "./config.ts";
import { logger, setLogLevel } from "./logger.ts";
import { createDatabase, pingDatabase, type Database } from "../db/index.ts";
import { migrate } from "../db/migrator.ts";
import { DocumentStore } from "./domain/documents/document-store.ts";
import { UpdateLog } from "./domain/documents/update-log.ts";
import { AccessTokens } from "./auth/access-token.ts";
import { createHocuspocus } from "./realtime/hocuspocus.ts";
import { CollabSocket } from "./realtime/collab-socket.ts";
import { Authenticate } from "../extensions/authenticate.ts";
import { Persistence } from "../extensions/persistence.ts";
import { Logging } from "../extensions/logging.ts";
import { createRedisExtension } from "../extensions/redis.ts";
import { requestId } from "./http/middleware/request-id.ts";
import { errorHandler, notFoundHandler } from "./http/middleware/error-handler.ts";
import { healthRoutes } from "./http/routes/health.ts";
import { metricsRoutes } from "./http/routes/metrics.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { Awareness } from "../extensions/awareness.ts";
import type { EdgeOptions } from "./realtime/collab-socket.ts";

export interface App {
  config: Config;
  instanceId: string;
  db: Database;
  redis: IORedis | null;
  tokens: AccessTokens;
  store: DocumentStore;
  updateLog: UpdateLog;
  persistence: Persistence;
  hocuspocus: Hocuspocus;
  metrics: Metrics;
  express: Express;
  httpServer: http.Server;
  /** Listen on config.http.port (0 picks a free port); resolves the bound port. */
  listen(): Promise<number>;
  /** Graceful shutdown: stop accepting, flush every document, close sockets and pools. */
  close(): Promise<void>;
}

export async function createApp(config: Config): Promise<App> {
  setLogLevel(config.logLevel);
  const instanceId = `sf-${randomUUID()}`;

  const db = createDatabase(config.database);
  await migrate(db.sequelize);

  const redis = config.redis ? new IORedis(config.redis.url, { maxRetriesPerRequest: 2, lazyConnect: false }) : null;
  redis?.on("error", (error: Error) => logger.warn("Redis connection error", { error: error.message }));

  const tokens = new AccessTokens(config.secret, config.tokens.accessTokenTtlSeconds);
  const store = new DocumentStore(db, instanceId);
  const updateLog = new UpdateLog(store);
  const persistence = new Persistence({ store, log: updateLog });

  const extensions: Extension[] = [new Authenticate({ tokens }), new Awareness(), new Logging(), persistence];
  if (config.redis) {
    extensions.push(createRedisExtension({ url: config.redis.url, prefix: config.redis.prefix, identifier: instanceId }));
  }
  const hocuspocus = createHocuspocus({
    extensions,
    debounceMs: config.realtime.storeDebounceMs,
    maxDebounceMs: config.realtime.storeMaxDebounceMs,
  });

  const metrics = createMetrics(
    {
      connections: () => hocuspocus.getConnectionsCount(),
      documents: () => hocuspocus.getDocumentsCount(),
      updateLog: () => updateLog.stats,
    },
    { defaults: !config.isTest },
  );
  const edgeOptions: EdgeOptions = {
    awareness: config.realtime.awareness,
    documentMessages: config.realtime.documentMessages,
    metrics: metrics.realtime,
  };

  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", 1);
  app.use(requestId);
  app.use(helmet());
  app.use(express.json({ limit: "1mb" }));
  app.use(
    healthRoutes({
      database: () => pingDatabase(db),
      redis: redis ? () => redis.ping().then((r: string) => r === "PONG", () => false) : null,
      stats: () => ({ documents: hocuspocus.getDocumentsCount(), connections: hocuspocus.getConnectionsCount() }),
    }),
  );
  app.use(metricsRoutes(metrics.registry));
  app.use(notFoundHandler);
  app.use(errorHandler);

  const httpServer = http.createServer(app);
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.realtime.maxMessageBytes, perMessageDeflate: false });
  let accepting = true;

  httpServer.on("upgrade", (request, socket, head) => {
    const path = (request.url ?? "/").split("?")[0];
    if (!accepting || path !== "/collab") {
      socket.end(`HTTP/1.1 ${accepting ? "404 Not Found" : "503 Service Unavailable"}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const webRequest = toWebRequest(request);
      CollabSocket.accept(ws, webRequest, hocuspocus, request.socket.remoteAddress ?? "", edgeOptions);
    });
  });

  let closing: Promise<void> | null = null;

  async function shutdown(): Promise<void> {
    accepting = false;
    httpServer.close();
    for (const ws of wss.clients) ws.close(1001, "server_shutting_down");
    hocuspocus.flushPendingStores();
    const deadline = Date.now() + config.shutdownTimeoutMs;
    while (hocuspocus.getDocumentsCount() > 0 && Date.now() < deadline) {
      hocuspocus.flushPendingStores();
      await new Promise((r) => setTimeout(r, 25));
    }
    if (hocuspocus.getDocumentsCount() > 0) {
      logger.warn("Shutting down with documents still loaded; their updates are in the update log", {
        documents: hocuspocus.getDocumentsCount(),
      });
    }
    await updateLog.drain();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    httpServer.closeAllConnections();
    await hocuspocus.hooks("onDestroy", { instance: hocuspocus });
    redis?.disconnect();
    await db.close();
  }

  return {
    config,
    instanceId,
    db,
    redis,
    tokens,
    store,
    updateLog,
    persistence,
    hocuspocus,
    metrics,
    express: app,
    httpServer,
    listen: () =>
      new Promise<number>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.http.port, config.http.host, () => {
          httpServer.off("error", reject);
          const address = httpServer.address();
          resolve(typeof address === "object" && address ? address.port : config.http.port);
        });
      }),
    close: () => (closing ??= shutdown()),
  };
}

function toWebRequest(request: http.IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) headers.set(name, value.join(", "));
  }
  return new Request(`http://${request.headers.host ?? "localhost"}${request.url ?? "/"}`, { headers });
}
