export { BUILD_QUEUE, createBuildQueue, createBuildWorker, createRedis } from "./build-queue.js";
export type { BuildJob, BuildJobV1, BuildProcessor, BuildQueue, BuildWorkerOptions, QueueOptions } from "./build-queue.js";
export { createBuildEventBus } from "./build-events.js";
export type { BuildEvent, BuildEventBus } from "./build-events.js";
export { createLocks } from "./redis-lock.js";
export type { Locks } from "./redis-lock.js";
export { createWebhookQueue, createWebhookWorker, DEFAULT_WEBHOOK_BACKOFF_MS, DELIVERY_ATTEMPTS, WEBHOOK_QUEUE } from "./webhook-queue.js";
export type {
  BuildEndedJob,
  PushedJob,
  BuildEndedJobV1,
  DeliveryAttempt,
  DeliveryJob,
  DeliveryJobV1,
  DeliveryOutcome,
  WebhookProcessors,
  WebhookQueue,
  WebhookQueueOptions,
  WebhookWorkerOptions,
} from "./webhook-queue.js";
