import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from "bullmq";
import { createRedis, type QueueOptions } from "./build-queue.js";

export const WEBHOOK_QUEUE = "webhooks";

/** Version 1 of the fan-out job: a build ended; its webhooks' deliveries are recorded and queued. */
export interface BuildEndedJobV1 {
  v: 1;
  buildId: string;
}
/** Version 1 of a delivery job: one delivery, sent until it is delivered or its attempts run out. */
export interface DeliveryJobV1 {
  v: 1;
  deliveryId: string;
}
/** Version 1 of the fan-out job of an image pushed by hand (reported by the registry). */
export interface PushedJobV1 {
  v: 1;
  pushId: string;
}
export type BuildEndedJob = BuildEndedJobV1;
export type DeliveryJob = DeliveryJobV1;
export type PushedJob = PushedJobV1;

type WebhookJobName = "build-ended" | "pushed" | "delivery";
type WebhookJobData = BuildEndedJob | PushedJob | DeliveryJob;

/** One attempt at a delivery, as its processor is told of it. */
export interface DeliveryAttempt {
  deliveryId: string;
  /** 1, 2, … within this series (a redelivery starts a series of its own). */
  attempt: number;
  /** No attempt follows this one if it fails. */
  last: boolean;
}

/**
 * What an attempt came to: `done` (delivered, or nothing left to send); `retry` (tried again
 * after the backoff, unless it was the last); `give_up` (never tried again: the target is refused).
 */
export type DeliveryOutcome = "done" | "retry" | "give_up";

export interface WebhookProcessors {
  /** Fans a build's end out into deliveries; throwing tries the fan-out again (it is idempotent). */
  buildEnded(job: BuildEndedJob): Promise<void>;
  /** Fans a push by hand out into deliveries, the same way. */
  pushed(job: PushedJob): Promise<void>;
  deliver(attempt: DeliveryAttempt): Promise<DeliveryOutcome>;
}

/** Attempts per delivery series. With the default 20 s base: 20+40+80+160+320 s = 10 min 20 s of retries. */
export const DELIVERY_ATTEMPTS = 6;
export const DEFAULT_WEBHOOK_BACKOFF_MS = 20_000;

export interface WebhookQueueOptions extends QueueOptions {
  /** The first wait between attempts; it doubles each time (SLIPWAY_WEBHOOK_BACKOFF_MS). */
  backoffMs?: number;
  attempts?: number;
}

export interface WebhookQueue {
  /** Announces a build's end; idempotent while a fan-out of that build is waiting. */
  buildEnded(buildId: string): Promise<void>;
  /** Announces an image pushed by hand: its webhooks' deliveries are recorded and queued. Idempotent per push. */
  pushed(pushId: string): Promise<void>;
  /**
   * Queues a delivery. Idempotent per delivery (a queued or failed series is not started twice)
   * unless `again`: a redelivery, a new series of attempts, asked for when the delivery had
   * `again.after` attempts recorded. Idempotent per that count too, so two redeliveries asked
   * for at once start one series.
   */
  deliver(deliveryId: string, options?: { again?: { after: number } }): Promise<void>;
  close(): Promise<void>;
}

export function createWebhookQueue(options: WebhookQueueOptions): WebhookQueue {
  const connection = createRedis(options.redisUrl);
  const queue = new Queue<WebhookJobData, void, WebhookJobName>(WEBHOOK_QUEUE, { connection, prefix: options.prefix });
  const deliveryOptions: JobsOptions = {
    attempts: options.attempts ?? DELIVERY_ATTEMPTS,
    backoff: { type: "exponential", delay: options.backoffMs ?? DEFAULT_WEBHOOK_BACKOFF_MS },
    // The store keeps every attempt; failed jobs are kept a while for whoever debugs the queue.
    removeOnComplete: true,
    removeOnFail: 1000,
  };
  return {
    async buildEnded(buildId) {
      await queue.add(
        "build-ended",
        { v: 1, buildId },
        // A fan-out that fails (a database outage) is tried again; it never sends twice.
        { jobId: `ended-${buildId}`, attempts: 5, backoff: { type: "exponential", delay: 1_000 }, removeOnComplete: true, removeOnFail: 1000 },
      );
    },
    async pushed(pushId) {
      await queue.add("pushed", { v: 1, pushId }, { jobId: `pushed-${pushId}`, attempts: 5, backoff: { type: "exponential", delay: 1_000 }, removeOnComplete: true, removeOnFail: 1000 });
    },
    async deliver(deliveryId, deliverOptions = {}) {
      // BullMQ ignores an add whose job id is taken: a series runs once unless asked again, and
      // every series records at least one attempt, so the next redelivery's id is a new one.
      const jobId = deliverOptions.again ? `delivery-${deliveryId}-after-${deliverOptions.again.after}` : `delivery-${deliveryId}`;
      await queue.add("delivery", { v: 1, deliveryId }, { ...deliveryOptions, jobId });
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

export interface WebhookWorkerOptions extends QueueOptions {
  concurrency: number;
  processors: WebhookProcessors;
}

/** Runs the fan-out and delivery jobs; BullMQ's retries and backoff come from each job's options. */
export function createWebhookWorker(options: WebhookWorkerOptions): Worker<WebhookJobData, void, WebhookJobName> {
  const connection = createRedis(options.redisUrl, { maxRetriesPerRequest: null });
  const { processors } = options;
  const worker = new Worker<WebhookJobData, void, WebhookJobName>(
    WEBHOOK_QUEUE,
    async (job: Job<WebhookJobData, void, WebhookJobName>) => {
      if (job.name === "build-ended") {
        await processors.buildEnded(job.data as BuildEndedJob);
        return;
      }
      if (job.name === "pushed") {
        await processors.pushed(job.data as PushedJob);
        return;
      }
      const { deliveryId } = job.data as DeliveryJob;
      const attempt = job.attemptsMade + 1;
      const outcome = await processors.deliver({ deliveryId, attempt, last: attempt >= (job.opts.attempts ?? 1) });
      if (outcome === "retry") throw new Error(`delivery ${deliveryId}: attempt ${attempt} failed`);
      if (outcome === "give_up") throw new UnrecoverableError(`delivery ${deliveryId}: not sent (refused target)`);
    },
    { connection, prefix: options.prefix, concurrency: options.concurrency, autorun: false },
  );
  // BullMQ leaves a connection it was given open; this one is the worker's alone.
  worker.on("closed", () => connection.disconnect());
  return worker;
}
