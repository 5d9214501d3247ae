import { createLogger, loadConfig, loadRegistryTokenKey } from "@slipway/config";
import { createSecretBox, REGISTRY_TOKEN_ISSUER, REGISTRY_TOKEN_SERVICE } from "@slipway/core";
import { createBuildEventBus, createBuildQueue, createRedis, createWebhookQueue } from "@slipway/queue";
import { createStore } from "@slipway/store";
import { createApp } from "./app.js";
import { pingDocker } from "./docker-ping.js";

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: "slipway-api" });
// What fails no call (an idle PostgreSQL connection, SQLite's checkpoint thread) is still worth a line.
const store = createStore({ databaseUrl: config.databaseUrl, onError: (err) => logger.warn({ err }, "database") });
await store.migrate();
const queue = createBuildQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
const bus = createBuildEventBus({
  publisher: createRedis(config.redisUrl),
  subscriber: createRedis(config.redisUrl, { maxRetriesPerRequest: null }),
  prefix: config.queuePrefix,
});
// Rate limits are counted in Redis, so every API process sees the same counts.
const rateLimitRedis = createRedis(config.redisUrl);
const webhookQueue = createWebhookQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix, backoffMs: config.webhookBackoffMs });
const tokenKey = loadRegistryTokenKey(config.dataDir);
const app = createApp({
  config,
  registrySigner: { privateKey: tokenKey.privateKey, keyId: tokenKey.keyId, issuer: REGISTRY_TOKEN_ISSUER, service: REGISTRY_TOKEN_SERVICE },
  store,
  queue,
  bus,
  secrets: createSecretBox(config.secretKey),
  logger,
  checks: { docker: () => pingDocker(config.dockerHost) },
  webhookQueue,
  rateLimit: { redis: rateLimitRedis, prefix: config.queuePrefix, triggerCallsPerMinute: config.triggerRateLimit },
});

const server = app.listen(config.port, config.host, () => {
  logger.info({ url: config.publicUrl }, "Slipway API listening");
});
// Hook senders and log followers keep connections open; bound how long a slow client holds one.
server.requestTimeout = 120_000;

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  server.close();
  server.closeAllConnections();
  await Promise.allSettled([queue.close(), bus.close(), rateLimitRedis.quit(), webhookQueue.close()]);
  await store.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
