/**
 * The composition root: one http.Server carrying Express (HTTP) and Hocuspocus (WebSocket upgrades
 * on /collab and /yjs). Everything is created here and handed what it needs; nothing else wires modules.
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
import { createLiveLog, type LiveLog } from "./domain/live-log/index.ts";
import { LiveLogEvents } from "../extensions/live-log.ts";
import { liveLogRoutes } from "./http/routes/live-log.ts";
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
import { dashboardRoutes, DASHBOARD_DIST } from "./http/dashboard.ts";
import { systemClock, type Clock } from "./domain/clock.ts";
import { createMailer, type Mailer } from "./mail/mailer.ts";
import { createMailThrottle } from "./mail/mail-throttle.ts";
import { BackgroundWork } from "./domain/background-work.ts";
import { AccountService } from "./domain/accounts/account-service.ts";
import { OrgService } from "./domain/orgs/org-service.ts";
import { InvitationService } from "./domain/orgs/invitation-service.ts";
import { ApiKeyService } from "./domain/api-keys/api-key-service.ts";
import { RoomService } from "./domain/rooms/room-service.ts";
import { DatabaseSessionStore } from "./auth/session-store.ts";
import { createApiRouter } from "./http/api-router.ts";
import type { AuthMiddleware } from "./http/middleware/authenticate.ts";
import { createAuthRateLimit } from "./http/middleware/rate-limit.ts";
import { createConnectionAuthorizer } from "./auth/authorize-connection.ts";
import { createActorResolver } from "./auth/resolve-actor.ts";
import { createPassport } from "./auth/passport.ts";
import { createDocumentDestroyer } from "./realtime/destroy-document.ts";
import { DocumentCopies } from "./realtime/document-copies.ts";
import { createControlChannel, type ControlChannel, type ControlEvent } from "./realtime/control-events.ts";
import { createRevocationHandler } from "./realtime/revocation.ts";
import { metricsRoutes } from "./http/routes/metrics.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { Awareness } from "../extensions/awareness.ts";
import { PresenceHub } from "./realtime/presence/presence-hub.ts";
import { createPresenceRelay } from "./realtime/presence/presence-relay.ts";
import { createCommentsArea, type CommentsArea } from "./comments-area.ts";
import { createSharedOutbound, type EdgeOptions } from "./realtime/socket-edge.ts";
import { DurableOutbound } from "./realtime/durable-outbound.ts";
import { YwsSocket, YWS_PATH_PREFIX } from "./realtime/yws-socket.ts";
import { TimeoutSweep } from "./realtime/timeout-sweep.ts";
import { presenceRoutes } from "./http/routes/presence.ts";
import { demoRoutes } from "./http/routes/demo.ts";
import { createPresenceService, type PresenceService } from "./domain/presence/index.ts";
import { Presence } from "../extensions/presence.ts";
import { CloseCodes } from "../protocol/close-codes.ts";
import { BillingService } from "./domain/billing/billing-service.ts";
import { startUsageReporter, type UsageReporter } from "./domain/billing/usage-reporter.ts";
import { billingRoutes, stripeWebhookRoutes } from "./http/routes/billing.ts";
import { RoomEvents } from "./realtime/room-events.ts";
import { ServerDocuments } from "./realtime/server-documents.ts";
import { Broadcast } from "../extensions/broadcast.ts";
import { roomDocumentRoutes } from "./http/routes/room-documents.ts";
import { createWebhooksArea, type WebhooksArea } from "./webhooks-area.ts";
// Plans and usage (issue 19, docs/billing.md).
import { Entitlements } from "./domain/billing/entitlements.ts";
import { UsageMeter } from "./domain/usage/usage-meter.ts";
import { MauGate } from "./domain/usage/mau-gate.ts";
import { UsageService } from "./domain/usage/usage-service.ts";
import { Usage } from "../extensions/usage.ts";
import { usageRoutes } from "./http/routes/usage.ts";
import { webhookEntry } from "./domain/live-log/webhook-entries.ts";

export interface App {
  config: Config;
  instanceId: string;
  db: Database;
  redis: IORedis | null;
  tokens: AccessTokens;
  store: DocumentStore;
  updateLog: UpdateLog;
  persistence: Persistence;
  /** The copies of each document this process holds, loading to unloaded (room deletion reads it). */
  documentCopies: DocumentCopies;
  hocuspocus: Hocuspocus;
  /** Accounts, tenancy and rooms (issue #3). */
  clock: Clock;
  mailer: Mailer;
  accounts: AccountService;
  orgs: OrgService;
  /** Adding members by email: invitations, accepted by link (issue 16). */
  invitations: InvitationService;
  apiKeys: ApiKeyService;
  rooms: RoomService;
  /** Authentication middleware for /api routes: `auth.requireOrgAccess("rooms:read")`. */
  auth: AuthMiddleware;
  /** The /api router; other areas mount their routers on it. */
  api: express.Router;
  metrics: Metrics;
  /** What happens in an organisation's rooms, live and bounded (issue 20); `record` is for other areas (webhooks). */
  liveLog: LiveLog;
  /** Who is in each room; `presence.events` fires userEntered / userLeft (issue #8). */
  presence: PresenceService;
  /** Each room's awareness states (cursors, selections), across processes (issue 17). */
  presenceHub: PresenceHub;
  /** Comments, notifications and activity (issue #5). */
  comments: CommentsArea;
  /** Stripe billing (issue 19): off (summary only, no Stripe) without STRIPE_SECRET_KEY. */
  billing: BillingService;
  /** The daily metered-usage report; null unless billing is on with STRIPE_METER_EVENT_NAME. */
  usageReporter: UsageReporter | null;
  /** Broadcast events of rooms, from clients and REST, across processes (issue 22). */
  roomEvents: RoomEvents;
  /** Room documents read and written over REST; `documents.written` tells of each write (issue 22). */
  documents: ServerDocuments;
  /** Outbound webhooks: endpoints, outbox, delivery worker (issue 22). */
  webhooks: WebhooksArea;
  /** Effective plans, limits and features; `entitlements.invalidate(orgId)` after changing billing rows (issue 19). */
  entitlements: Entitlements;
  /** Usage metering and reports (issue 19). */
  usage: { meter: UsageMeter; service: UsageService };
  express: Express;
  httpServer: http.Server;
  /** Listen on config.http.port (0 picks a free port); resolves the bound port. */
  listen(): Promise<number>;
  /** Graceful shutdown: stop accepting, flush every document, close sockets and pools. */
  close(): Promise<void>;
}

export interface AppOptions {
  /** Time for key rotation grace and token issuing; tests inject a manual clock. */
  clock?: Clock;
  /** Backoff of failed document stores (default 1 s, 2 s, 4 s, … 30 s); tests space retries out. */
  storeRetryDelayMs?: (failures: number) => number;
  /** Live log streams' heartbeat and access re-check (default 15 s); tests shorten it. */
  liveLogHeartbeatMs?: number;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  setLogLevel(config.logLevel);
  const instanceId = `sf-${randomUUID()}`;

  const db = createDatabase(config.database);
  await migrate(db.sequelize);

  const redis = config.redis ? new IORedis(config.redis.url, { maxRetriesPerRequest: 2, lazyConnect: false }) : null;
  redis?.on("error", (error: Error) => logger.warn("Redis connection error", { error: error.message }));

  const tokens = new AccessTokens(config.secret, config.tokens.accessTokenTtlSeconds);
  const store = new DocumentStore(db, instanceId, { snapshotCacheBytes: config.realtime.snapshotCacheBytes });
  const updateLog = new UpdateLog(store);
  const documentCopies = new DocumentCopies();
  const persistence = new Persistence({ store, log: updateLog, copies: documentCopies, retryDelayMs: options.storeRetryDelayMs });

  const clock = options.clock ?? systemClock;
  const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, env: config.env });
  const mailThrottle = createMailThrottle({ perHour: config.mail.perAddressPerHour, redis, prefix: config.redis?.prefix ?? "syncforge" });
  const background = new BackgroundWork();
  const accounts = new AccountService({
    db,
    mailer,
    bcryptRounds: config.auth.bcryptRounds,
    publicUrl: config.http.publicUrl,
    clock,
    throttle: mailThrottle,
    background,
  });
  // Plans and usage (issue 19): every edge reads limits from this cache, never the database per message.
  const entitlements = new Entitlements({ db, billingEnabled: config.stripe.secretKey !== null, clock });
  // The meter reads the time per message: Date.now unless a test moves the clock.
  const now = options.clock ? () => clock().getTime() : Date.now;
  const usageMeter = new UsageMeter({ db, instanceId, flushMs: config.usage.flushMs, now });
  const mauGate = new MauGate({ db, redis, prefix: config.redis?.prefix ?? "syncforge", now });
  const usage = new UsageService({ db, meter: usageMeter, entitlements, clock });
  const orgs = new OrgService(db, (orgId) => entitlements.get(orgId));
  const invitations = new InvitationService({
    db,
    orgs,
    accounts,
    mailer,
    throttle: mailThrottle,
    background,
    publicUrl: config.http.publicUrl,
    clock,
  });
  const apiKeys = new ApiKeyService(db, clock);
  // Revocations and room deletions reach every process through Redis (control-events.ts); the
  // services publish them, each process closes what it holds (revocation.ts).
  let control: ControlChannel | null = null;
  const publish = async (event: ControlEvent) => {
    if (!control) throw new Error("control events are not wired yet");
    await control.publish(event);
  };
  const rooms = new RoomService({
    db,
    destroyDocument: (orgId, roomId) => publish({ type: "room_deleted", orgId, roomId }),
    clock,
    tombstoneTtlMs: config.tokens.accessTokenTtlSeconds * 1000,
    roomsLimit: async (orgId) => (await entitlements.get(orgId)).limits.rooms,
  });
  const presence = createPresenceService({
    redis,
    prefix: config.redis?.prefix ?? "syncforge",
    instanceId,
    ttlMs: config.realtime.presenceTtlMs,
  });
  // Credentials → Actor for both edges: REST (api-router.ts) and WebSocket (extensions/authenticate.ts).
  const actors = createActorResolver({ apiKeys, tokens });
  const authorize = createConnectionAuthorizer({
    apiKeys,
    orgs,
    rooms,
    connectionsCount: (name) => hocuspocus.documents.get(name)?.getConnectionsCount() ?? 0,
    connectionsElsewhere: redis ? (orgId, roomId) => presence.connectionsElsewhere({ orgId, roomId }) : undefined,
    admitUser: async (orgId, userId) => {
      const limit = (await entitlements.get(orgId)).limits.monthlyActiveUsers;
      return (await mauGate.admit(orgId, userId, limit)) ? { admitted: true } : { admitted: false, limit: limit ?? 0 };
    },
  });
  control = await createControlChannel({
    redis,
    prefix: config.redis?.prefix ?? "syncforge",
    instanceId,
    handle: createRevocationHandler({
      hocuspocus: () => hocuspocus,
      authorize,
      documents: createDocumentDestroyer({
        hocuspocus: () => hocuspocus,
        store,
        updateLog,
        persistence,
        copies: documentCopies,
        roomExists: async (orgId, roomId) => (await rooms.find(orgId, roomId)) !== null,
      }),
      entitlements,
    }),
  });
  entitlements.broadcast = (orgId) => publish({ type: "entitlements_changed", orgId });
  apiKeys.onRevoked = (keyId) => publish({ type: "api_key_revoked", keyId });
  orgs.onMemberRemoved = (orgId, userId) => publish({ type: "member_changed", orgId, userId, role: null });
  orgs.onMemberRoleChanged = (orgId, userId, role) => publish({ type: "member_changed", orgId, userId, role });

  const metrics = createMetrics(
    {
      connections: () => hocuspocus.getConnectionsCount(),
      documents: () => hocuspocus.getDocumentsCount(),
      updateLog: () => updateLog.stats,
    },
    { defaults: !config.isTest, eventLoopResolutionMs: config.metrics.eventLoopResolutionMs },
  );
  const presenceHub = new PresenceHub({
    limits: config.realtime.awareness,
    metrics: metrics.realtime,
    remoteTimeoutMs: config.realtime.awareness.remoteTimeoutMs,
    relay: redis ? (handlers) => createPresenceRelay({ redis, prefix: config.redis?.prefix ?? "syncforge", instanceId, handlers }) : undefined,
  });
  // Live logs (issue 20): connects and disconnects (extension), refusals and throttling (socket
  // edge), comment writes (comments area); kept per organisation, shared through Redis.
  const liveLog = createLiveLog({ redis, prefix: config.redis?.prefix ?? "syncforge", history: config.liveLog.history });
  const extensions: Extension[] = [new Authenticate({ actors, authorize }), new Awareness(presenceHub), new Logging(), new LiveLogEvents(liveLog), persistence];
  // Outbound webhooks (issue 22): the outbox rows of room and notification events commit in those
  // events' own transactions; connection, document and comment events are written right after.
  const webhooks = createWebhooksArea({
    config: config.webhooks,
    db,
    notifyOwners: async (orgId, data) => {
      const owners = (await orgs.listMembers(orgId)).filter((m) => m.role === "owner");
      for (const owner of owners) await comments.notifications.notify({ orgId, userId: owner.user_id, kind: "webhook_disabled", data });
    },
    // One live log entry per delivery attempt (the live log batches its writes).
    onAttempt: (attempt) => liveLog.record(webhookEntry(attempt)),
  });
  rooms.onLifecycle = webhooks.onRoomLifecycle;
  extensions.push(webhooks.extension);
  const comments = await createCommentsArea({
    onCommentEvents: webhooks.onCommentEvents,
    config,
    db,
    redis,
    mailer,
    hocuspocus: () => hocuspocus,
    persistence,
    store,
    ownerOf: (documentName, clientId) => presenceHub.ownerOf(documentName, clientId),
    liveLog,
    entitlements,
    meter: usageMeter,
  });
  extensions.push(comments.extension);
  comments.notifications.onStored = webhooks.onNotificationStored;
  orgs.onMemberAdded = async (orgId, userId, role) => {
    // The membership is made; a failed notification is logged, never turned into a failed request.
    await comments.notifications
      .notify({ orgId, userId, kind: "added_to_org", data: { role } })
      .catch((error: Error) => logger.warn("Could not notify a new member", { orgId, userId, error: error.message }));
  };
  extensions.push(new Presence(presence));
  extensions.push(new Usage(usageMeter));
  comments.useJoinEvents(presence.events);
  // Broadcast events (issue 22): clients' arrive as stateless messages; Redis through presence's relay.
  const roomEvents = new RoomEvents({ hocuspocus: () => hocuspocus, presence: presenceHub, limits: config.realtime.broadcast });
  extensions.push(new Broadcast(roomEvents));
  if (config.redis) {
    extensions.push(createRedisExtension({ url: config.redis.url, prefix: config.redis.prefix, identifier: instanceId, log: updateLog }));
  }
  const hocuspocus = createHocuspocus({
    extensions,
    debounceMs: config.realtime.storeDebounceMs,
    maxDebounceMs: config.realtime.storeMaxDebounceMs,
  });

  // The room document over REST (issue 22): writes take a client update's path, comment guard included.
  const documents = new ServerDocuments({
    hocuspocus: () => hocuspocus,
    store,
    log: updateLog,
    persistence,
    guard: (name, document, update, writer, apply) => comments.extension.guardServerUpdate(name, document, update, writer, apply),
  });

  const edgeOptions: EdgeOptions = {
    liveLog,
    presence: presenceHub,
    documentMessages: config.realtime.documentMessages,
    metrics: metrics.realtime,
    timeouts: new TimeoutSweep(config.realtime.connectionTimeoutMs),
    // One per server: a broadcast's message is rewritten and filtered once for all of its sockets.
    outbound: createSharedOutbound(),
    durability: new DurableOutbound(updateLog, { holdTimeoutMs: config.realtime.updateCommitTimeoutMs }),
  };

  // Billing (issue 19): the stripe SDK is loaded only when billing is on (STRIPE_SECRET_KEY).
  const billing = new BillingService({
    db,
    clock,
    config: config.stripe,
    stripe: config.stripe.secretKey
      ? (await import("./domain/billing/stripe-client.ts")).createStripeClient({ secretKey: config.stripe.secretKey, apiUrl: config.stripe.apiUrl })
      : null,
  });
  // The Stripe side changes billing_accounts; the plans side enforces what they mean.
  billing.onAccountChanged = (orgId) => entitlements.invalidate(orgId);
  billing.entitlementOf = async (orgId) => {
    const entitlement = await entitlements.get(orgId);
    return { plan: entitlement.plan && { id: entitlement.plan.id, name: entitlement.plan.name }, limits: entitlement.limits };
  };
  billing.usageOf = async (orgId) => {
    const report = await usage.report(orgId);
    return { monthlyActiveUsers: report.current.monthly_active_users, rooms: report.current.rooms };
  };
  const usageReporter = billing.enabled && config.stripe.meterEventName ? startUsageReporter({ billing, clock }) : null;

  const app = express();
  app.disable("x-powered-by");
  // Off unless TRUST_PROXY names the proxies in front: X-Forwarded-For from anyone else is ignored,
  // so a client cannot claim a new IP per request past the per-IP limits.
  app.set("trust proxy", config.http.trustProxy);
  app.use(requestId);
  if (config.http.trustProxy === false) app.use(warnOnceAboutForwardedHeaders());
  app.use(helmet());
  // Before the JSON parser: Stripe's signature covers the raw body.
  app.use(stripeWebhookRoutes({ billing }));
  app.use(express.json({ limit: "1mb" }));
  app.use(
    healthRoutes({
      database: () => pingDatabase(db),
      redis: redis ? () => redis.ping().then((r: string) => r === "PONG", () => false) : null,
      stats: () => ({ documents: hocuspocus.getDocumentsCount(), connections: hocuspocus.getConnectionsCount() }),
    }),
  );
  app.use(metricsRoutes(metrics.registry));
  const sessionStore = new DatabaseSessionStore(db, config.auth.sessionTtlSeconds);
  const api = createApiRouter({
    secret: config.secret,
    secureCookies: config.isProduction,
    allowedOrigins: config.http.allowedOrigins,
    sessionTtlSeconds: config.auth.sessionTtlSeconds,
    sessionStore,
    authRateLimit: createAuthRateLimit({ pointsPerMinute: config.auth.rateLimitPerMinute, redis, prefix: config.redis?.prefix ?? "syncforge" }),
    accounts,
    orgs,
    invitations,
    apiKeys,
    rooms,
    tokens,
    actors,
    passport: createPassport(accounts),
    clock,
  });
  api.router.use(liveLogRoutes({ auth: api.auth, liveLog, heartbeatMs: options.liveLogHeartbeatMs }));
  for (const router of comments.routes(api.auth)) api.router.use(router);
  api.router.use(presenceRoutes({ auth: api.auth, rooms, presence }));
  api.router.use(billingRoutes({ auth: api.auth, billing }));
  api.router.use(roomDocumentRoutes({ auth: api.auth, rooms, documents, events: roomEvents, maxUpdateBytes: config.realtime.maxMessageBytes }));
  api.router.use(webhooks.routes(api.auth));
  api.router.use(usageRoutes({ auth: api.auth, usage }));
  app.use("/api", api.router);
  // The editor demo (DEMO=true, development only; server/http/routes/demo.ts), before the
  // dashboard, whose client-side routes answer every other page path with its index.html.
  const demo = config.demo.enabled ? await demoRoutes({ tokens }) : null;
  if (demo) app.use(demo.router);
  // The dashboard (issue 20): the web app at `/`; its client-side routes fall back to index.html.
  app.use(dashboardRoutes({ dir: DASHBOARD_DIST }));
  app.use(notFoundHandler);
  app.use(errorHandler);

  const httpServer = http.createServer(app);
  webhooks.start();
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.realtime.maxMessageBytes, perMessageDeflate: false });
  let accepting = true;

  httpServer.on("upgrade", (request, socket, head) => {
    const path = (request.url ?? "/").split("?")[0];
    const yws = path?.startsWith(YWS_PATH_PREFIX) ?? false;
    if (!accepting || (path !== "/collab" && !yws)) {
      socket.end(`HTTP/1.1 ${accepting ? "404 Not Found" : "503 Service Unavailable"}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      // /yjs/<room>?token=: the stock y-websocket protocol, joined to the same documents (yws-socket.ts).
      if (yws) YwsSocket.accept(ws, request.url ?? "/", hocuspocus, request.socket.remoteAddress ?? "", edgeOptions);
      else CollabSocket.accept(ws, hocuspocus, request.socket.remoteAddress ?? "", edgeOptions);
    });
  });

  let closing: Promise<void> | null = null;

  async function shutdown(): Promise<void> {
    accepting = false;
    usageReporter?.stop();
    httpServer.close();
    for (const ws of wss.clients) ws.close(CloseCodes.ShuttingDown.code, CloseCodes.ShuttingDown.reason);
    // Debounced stores are Hocuspocus', retries of failed ones are persistence's: run both now.
    hocuspocus.flushPendingStores();
    persistence.retryStoresNow();
    const deadline = Date.now() + config.shutdownTimeoutMs;
    while (hocuspocus.getDocumentsCount() > 0 && Date.now() < deadline) {
      hocuspocus.flushPendingStores();
      persistence.retryStoresNow();
      await new Promise((r) => setTimeout(r, 25));
    }
    if (hocuspocus.getDocumentsCount() > 0) {
      logger.warn("Shutting down with documents still loaded; their updates are in the update log", {
        documents: hocuspocus.getDocumentsCount(),
      });
    }
    // Bounded: with the database gone, the log would retry for ever; the final stores above wrote
    // what the documents hold, and what never committed was never acknowledged.
    await Promise.race([updateLog.drain(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
    updateLog.close();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    httpServer.closeAllConnections();
    await hocuspocus.hooks("onDestroy", { instance: hocuspocus });
    // After the sockets: their members' removals are published before the relay disconnects.
    await presenceHub.close();
    await presence.close();
    // Account writes and mail started after an answer (register, forgot-password, invitations);
    // their mail budget may be in Redis.
    if (!(await background.idle(config.shutdownTimeoutMs))) logger.warn("Shutting down with account mail still being sent");
    await control?.close();
    await liveLog.close();
    redis?.disconnect();
    sessionStore.close();
    await comments.close();
    await webhooks.close(config.shutdownTimeoutMs);
    await usageMeter.close();
    await demo?.close();
    mailer.close();
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
    documentCopies,
    hocuspocus,
    clock,
    mailer,
    accounts,
    orgs,
    invitations,
    apiKeys,
    rooms,
    auth: api.auth,
    api: api.router,
    metrics,
    liveLog,
    presence,
    presenceHub,
    comments,
    billing,
    usageReporter,
    roomEvents,
    documents,
    webhooks,
    entitlements,
    usage: { meter: usageMeter, service: usage },
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

/**
 * With TRUST_PROXY off, X-Forwarded-* headers are ignored. Behind a proxy that is a mistake to
 * report (clients share one rate-limit budget, Secure cookies are never set), so say it once.
 */
function warnOnceAboutForwardedHeaders(): express.RequestHandler {
  let warned = false;
  return (req, _res, next) => {
    if (!warned && (req.headers["x-forwarded-for"] !== undefined || req.headers["x-forwarded-proto"] !== undefined)) {
      warned = true;
      logger.warn("A request carries X-Forwarded-For or X-Forwarded-Proto but TRUST_PROXY is off; they are ignored. Behind a reverse proxy, set TRUST_PROXY to the number of proxies in front");
    }
    next();
  };
}
