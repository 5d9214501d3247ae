import { createLogger, loadConfig, loadRegistryTokenKey } from "@slipway/config";
import { BUILD_TOKEN_SUBJECT_PREFIX, createSecretBox, mintRegistryToken, REGISTRY_TOKEN_ISSUER, REGISTRY_TOKEN_SERVICE, type RegistryTokenSigner } from "@slipway/core";
import {
  createBuildEventBus,
  createBuildQueue,
  createBuildWorker,
  createLocks,
  createRedis,
  createWebhookQueue,
  createWebhookWorker,
} from "@slipway/queue";
import { createStore } from "@slipway/store";
import { createBuildProcessor } from "./build-processor.js";
import { createBuildSweeper } from "./build-sweeper.js";
import { createDockerClient, engineAddress } from "./docker-client.js";
import { createHookRunner } from "./hooks/build-hooks.js";
import { createHookImage } from "./hooks/hook-image.js";
import { createDockerImageBuilder } from "./image-builder.js";
import { createImagePruner } from "./image-pruner.js";
import { createGitCheckout } from "./source-checkout.js";
import { createWebhookProcessors } from "./webhook-processors.js";
import { createWebhookSender } from "./webhook-sender.js";
import { prepareWorkDir } from "./work-dir.js";

const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: "slipway-worker" });
// What fails no call (an idle PostgreSQL connection, SQLite's checkpoint thread) is still worth a line.
const store = createStore({ databaseUrl: config.databaseUrl, onError: (err) => logger.warn({ err }, "database") });
await store.migrate();
const workDir = await prepareWorkDir(config.workDir);

const queue = createBuildQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
const publisher = createRedis(config.redisUrl);
const bus = createBuildEventBus({
  publisher,
  subscriber: createRedis(config.redisUrl, { maxRetriesPerRequest: null }),
  prefix: config.queuePrefix,
});
const secrets = createSecretBox(config.secretKey);
// The key the API signs registry tokens with: builds mint their own, for their one repository.
const tokenKey = loadRegistryTokenKey(config.dataDir);
const tokenSigner: RegistryTokenSigner = { privateKey: tokenKey.privateKey, keyId: tokenKey.keyId, issuer: REGISTRY_TOKEN_ISSUER, service: REGISTRY_TOKEN_SERVICE };
// Outgoing webhooks: a build's end is announced here, fanned out and delivered by this worker.
const webhookQueue = createWebhookQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix, backoffMs: config.webhookBackoffMs });
const webhookWorker = createWebhookWorker({
  redisUrl: config.redisUrl,
  prefix: config.queuePrefix,
  concurrency: 8,
  processors: createWebhookProcessors({
    store,
    queue: webhookQueue,
    secrets,
    send: createWebhookSender({ allowPrivate: config.webhookAllowPrivate }),
    logger: logger.child({ component: "webhooks" }),
    publicUrl: config.publicUrl,
    registry: config.registry,
  }),
});
webhookWorker.on("error", (err) => logger.error({ err }, "webhook worker error"));
const docker = createDockerClient(config.dockerHost);
const builder = createDockerImageBuilder({ docker, ...(config.buildNetwork ? { network: config.buildNetwork } : {}) });
const hooks = createHookRunner({
  docker,
  engine: engineAddress(config.dockerHost),
  image: createHookImage({ docker, ...(config.hookImage ? { image: config.hookImage } : {}) }),
  ...(config.buildNetwork ? { buildNetwork: config.buildNetwork } : {}),
  logger: logger.child({ component: "hooks" }),
});
// Old images of this installation's builds, removed from the engine once no tag holds them.
const pruner =
  config.imageRetentionMs > 0
    ? createImagePruner({ docker, redis: publisher, prefix: config.queuePrefix, retentionMs: config.imageRetentionMs, logger })
    : undefined;
const processor = createBuildProcessor({
  store,
  bus,
  builder,
  locks: createLocks({ redis: publisher, prefix: config.queuePrefix }),
  createCheckout: (log) => createGitCheckout({ workDir, log }),
  secrets,
  logger,
  pushAttempts: config.pushAttempts,
  buildTimeoutMs: config.buildTimeoutMs,
  onEnded: (build) => webhookQueue.buildEnded(build.id),
  hooks,
  ...(pruner ? { onImageBuilt: (imageId: string) => pruner.built(imageId) } : {}),
  // Minted for each push attempt and hook call: 15 minutes covers the engine's own retries.
  registryToken: async (buildId, repository) =>
    (await mintRegistryToken(tokenSigner, {
      subject: `${BUILD_TOKEN_SUBJECT_PREFIX}${buildId}`,
      access: [{ type: "repository", name: repository, actions: ["pull", "push"] }],
      ttlSeconds: 15 * 60,
    })).token,
});
const worker = createBuildWorker({
  redisUrl: config.redisUrl,
  prefix: config.queuePrefix,
  concurrency: config.workerConcurrency,
  lockDuration: config.jobLockMs,
  processor,
});
worker.on("error", (err) => logger.error({ err }, "worker error"));
const stopCancels = await bus.onCancel((buildId) => worker.cancelJob(buildId, "canceled by a user"));
const sweeper = createBuildSweeper({ store, queue, bus, logger, graceMs: Math.max(10_000, 2 * config.jobLockMs), onEnded: (build) => webhookQueue.buildEnded(build.id) });
sweeper.start(5_000);
// Every 10 minutes, or more often for a shorter retention.
pruner?.start(Math.min(10 * 60_000, Math.max(1_000, Math.floor(config.imageRetentionMs / 2))));
void worker.run();
void webhookWorker.run();
logger.info({ concurrency: config.workerConcurrency }, "Slipway worker ready");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  sweeper.stop();
  pruner?.stop();
  // Running builds are not canceled: their jobs' locks lapse and the next worker picks them up.
  await Promise.race([Promise.all([worker.close(true), webhookWorker.close()]), new Promise((r) => setTimeout(r, 5_000))]);
  await stopCancels();
  await Promise.allSettled([queue.close(), bus.close(), webhookQueue.close()]);
  await store.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
