import type { Config } from "@slipway/config";
import type { RegistryTokenSigner, SecretBox } from "@slipway/core";
import type { BuildEventBus, BuildQueue, WebhookQueue } from "@slipway/queue";
import type { Store } from "@slipway/store";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";
import { pinoHttp } from "pino-http";
import type { Logger } from "pino";
import { createBuildService } from "./builds/build-service.js";
import { createHookListener, createHookRoutes } from "./hooks/hook-routes.js";
import { createDeliveryReceiver } from "./hooks/receive-delivery.js";
import { authenticate, createCredentials } from "./http/auth.js";
import { createSignInLimiter } from "./http/sign-in-limiter.js";
import { createErrorHandler, notFoundHandler } from "./http/errors.js";
import { createRedisSessionStore, type SessionStore } from "./http/session-store.js";
import { createAccountRoutes } from "./routes/account-routes.js";
import { createRegistryRoutes } from "./routes/registry-routes.js";
import { createBuildRoutes } from "./routes/build-routes.js";
import { createDeliveryRoutes } from "./routes/delivery-routes.js";
import { createHealthRoutes, type ReadinessCheck } from "./routes/health-routes.js";
import { createRepositoryRoutes } from "./routes/repository-routes.js";
import { createSessionRoutes } from "./routes/session-routes.js";
import type { RateLimitDeps, RouteDeps } from "./routes/route-deps.js";
import { createTriggerRoutes, redactTriggerToken } from "./routes/trigger-routes.js";
import { createVariableRoutes } from "./routes/variable-routes.js";
import { createWebhookRoutes } from "./routes/webhook-routes.js";
import { createMetrics } from "./metrics.js";

export interface AppDeps {
  config: Pick<Config, "adminToken" | "publicUrl" | "registry" | "webhookAllowPrivate" | "passwordCost" | "registryEventsSecret" | "trustProxy">;
  store: Store;
  queue: BuildQueue;
  bus: BuildEventBus;
  secrets: SecretBox;
  logger: Logger;
  /** Extra readiness checks beyond the database and Redis (the Docker engine, in main). */
  checks?: Record<string, ReadinessCheck>;
  /** Redis shared by the API processes for rate limits (trigger URLs). */
  rateLimit: RateLimitDeps;
  /** Outgoing webhooks: a cancel announces the build's end there; redeliveries are queued there. */
  webhookQueue: WebhookQueue;
  /** Dashboard sessions; by default kept in the rate limits' Redis, shared by every API process. */
  sessions?: SessionStore;
  /** Signs the registry's bearer tokens (the registry trusts its certificate). */
  registrySigner: RegistryTokenSigner;
}

const HOOK_URL = /^\/hooks(\/|\?|$)/i;

/** The HTTP application, from its dependencies: no process.env, no listening. */
export function createApp(deps: AppDeps): Express {
  const { store, queue, bus, secrets, logger, config } = deps;
  const metrics = createMetrics({ store, queue });
  const builds = createBuildService({
    store,
    queue,
    bus,
    registry: config.registry,
    logger,
    onEnded: (build) => deps.webhookQueue.buildEnded(build.id),
  });
  const receiver = createDeliveryReceiver({ store, builds, secrets, logger, onRecorded: metrics.countDelivery });

  const routeDeps: RouteDeps = { store, builds, queue, bus, secrets, logger, publicUrl: config.publicUrl, webhookAllowPrivate: config.webhookAllowPrivate, rateLimit: deps.rateLimit, webhookQueue: deps.webhookQueue };
  const triggers = createTriggerRoutes(routeDeps);
  const sessions = deps.sessions ?? createRedisSessionStore({ redis: deps.rateLimit.redis, prefix: deps.rateLimit.prefix });
  const limiter = createSignInLimiter(deps.rateLimit);
  const credentials = createCredentials({ store, adminToken: config.adminToken, limiter, passwordCost: config.passwordCost });

  const app = express();
  app.disable("x-powered-by");
  // The client's address (req.ip) for sign-in and search limits: a proxy's X-Forwarded-For only when trusted.
  try {
    app.set("trust proxy", config.trustProxy);
  } catch (err) {
    // Express names the bad address only ("invalid IP address: …").
    throw new Error(`SLIPWAY_TRUST_PROXY: ${(err as Error).message} (give addresses, subnets, loopback, linklocal, uniquelocal, a hop count, true or false)`);
  }
  app.use(
    pinoHttp({
      logger,
      // Hook deliveries are logged by the receiver with their delivery id; health probes not at all.
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/readyz" || HOOK_URL.test(req.url ?? "") },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info"),
      // A trigger URL's path is its credential.
      serializers: { req: redactTriggerToken },
    }),
  );

  app.use(metrics.middleware);
  app.use(metrics.router);
  app.use(createHealthRoutes({ database: () => store.ping(), redis: () => queue.ping(), ...deps.checks }));
  app.use(createHookRoutes(receiver));
  app.use(triggers.call);
  app.use(createRegistryRoutes({ store, credentials, signer: deps.registrySigner, eventsSecret: config.registryEventsSecret, webhookQueue: deps.webhookQueue, rateLimit: deps.rateLimit }));

  const api = express.Router();
  // Signing in needs no credential. After it, each route checks the caller's role (anonymous callers see public repositories).
  api.use(createSessionRoutes({ credentials, limiter, sessions, publicUrl: config.publicUrl }));
  api.use(authenticate({ credentials, sessions, store, publicUrl: config.publicUrl }));
  api.use(express.json({ limit: "1mb" }));
  api.use(createAccountRoutes({ store, credentials, sessions }));
  api.use(createRepositoryRoutes({ store, builds, secrets, publicUrl: config.publicUrl }));
  api.use(createBuildRoutes({ store, builds, bus }));
  api.use(createDeliveryRoutes({ store }));
  api.use(triggers.api);
  api.use(createVariableRoutes(routeDeps));
  api.use(createWebhookRoutes(routeDeps));
  app.use("/api/v1", api);

  // The dashboard: static pages over the same API, served by Slipway itself (no CDN).
  const ui = fileURLToPath(new URL("../public/", import.meta.url));
  const dashboardHeaders: express.RequestHandler = (_req, res, next) => {
    // Only Slipway's own files run, and no other site may frame the pages.
    res.setHeader("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "same-origin");
    next();
  };
  app.get("/", dashboardHeaders, (_req, res) => res.sendFile("index.html", { root: ui }));
  app.use("/ui", dashboardHeaders, express.static(ui, { index: false, maxAge: "5m" }));

  app.use(notFoundHandler);
  app.use(createErrorHandler(logger));

  // Webhook deliveries are answered before express sees them (see createHookListener): every
  // request enters through app.handle, so the listener goes in front of it.
  const hooks = createHookListener(receiver, {
    logger,
    onAnswered: (route, status, seconds) => metrics.observeRequest("POST", route, status, seconds),
  });
  const dispatch = app as unknown as { handle(req: IncomingMessage, res: ServerResponse, next?: unknown): void };
  const handle = dispatch.handle.bind(app);
  dispatch.handle = (req, res, next) => {
    if (!hooks(req, res)) handle(req, res, next);
  };
  return app;
}
