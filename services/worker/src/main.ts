import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { loadConfig } from "@slipway/config";
import { createSecretBox } from "@slipway/core";
import { createBuildEventBus, createBuildQueue, createBuildWorker, createRedis } from "@slipway/queue";
import { createStore } from "@slipway/store";
import { pino } from "pino";
import { createBuildProcessor } from "./build-processor.js";
import { createBuildSweeper } from "./build-sweeper.js";
import { createDockerClient } from "./docker-client.js";
import { createDockerImageBuilder } from "./image-builder.js";
import { createGitCheckout } from "./source-checkout.js";

const config = loadConfig(process.env);
const logger = pino({
  name: "slipway-worker",
  level: config.logLevel,
  redact: { paths: ["*.password", "*.token", "*.secret", "*.credentials", "*.authorization"], censor: "[redacted]" },
});
const store = createStore({ databaseUrl: config.databaseUrl });
await store.migrate();
const workDir = join(process.env["SLIPWAY_WORK_DIR"] || join(tmpdir(), "slipway-builds"));
mkdirSync(workDir, { recursive: true });

const queue = createBuildQueue({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
const bus = createBuildEventBus({
  publisher: createRedis(config.redisUrl),
  subscriber: createRedis(config.redisUrl, { maxRetriesPerRequest: null }),
  prefix: config.queuePrefix,
});
const builder = createDockerImageBuilder({ docker: createDockerClient(config.dockerHost) });
const processor = createBuildProcessor({
  store,
  bus,
  builder,
  createCheckout: (log) => createGitCheckout({ workDir, log }),
  secrets: createSecretBox(config.secretKey),
  logger,
  pushAttempts: config.pushAttempts,
  buildTimeoutMs: config.buildTimeoutMs,
});
const worker = createBuildWorker({
  redisUrl: config.redisUrl,
  prefix: config.queuePrefix,
  concurrency: config.workerConcurrency,
  lockDuration: config.jobLockMs,
  processor,
});
worker.on("error", (err) => logger.error({ err }, "worker error"));
const stopCancels = await bus.subscribeAll((event) => {
  if (event.type === "cancel") worker.cancelJob(event.buildId, "canceled by a user");
});
const sweeper = createBuildSweeper({ store, queue, logger, graceMs: Math.max(10_000, 2 * config.jobLockMs) });
sweeper.start(5_000);
void worker.run();
logger.info({ concurrency: config.workerConcurrency }, "Slipway worker ready");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  sweeper.stop();
  // Running builds are not canceled: their jobs' locks lapse and the next worker picks them up.
  await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 5_000))]);
  await stopCancels();
  await Promise.allSettled([queue.close(), bus.close()]);
  await store.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
