import { Queue, Worker, type Job, type WorkerOptions } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";

export const BUILD_QUEUE = "builds";

/** Version 1 of a build job: the build's id; everything else is read from the store. */
export interface BuildJobV1 {
  v: 1;
  buildId: string;
}
export type BuildJob = BuildJobV1;

export type BuildProcessor = (job: Job<BuildJob>, token: string | undefined, signal: AbortSignal) => Promise<void>;

export interface QueueOptions {
  redisUrl: string;
  /** Key prefix, so several installs (or tests) share one Redis. */
  prefix: string;
}

/**
 * A connection for producers and subscribers. Producers fail fast when Redis is down
 * (the API answers 503 instead of hanging); BullMQ workers need `maxRetriesPerRequest: null`.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, ...options });
}

export interface BuildQueue {
  /**
   * Queues a build; idempotent on the build id (a queued or running job is not added twice).
   * `replaceEnded`: a job of this build that already ended is replaced (the recovery sweep).
   * Builds queued in one run of promise callbacks are sent together (one addBulk); each
   * call resolves once Redis has its job.
   */
  enqueue(buildId: string, options?: { replaceEnded?: boolean }): Promise<void>;
  /** Removes a build that no worker has taken yet; false when it is running or gone. */
  remove(buildId: string): Promise<boolean>;
  /** Whether BullMQ still holds a job for this build (waiting, active or delayed). */
  holds(buildId: string): Promise<boolean>;
  /** Jobs per state (waiting, active, delayed, failed), for metrics. */
  counts(): Promise<Record<string, number>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A build's job: its id is the build's, so a build is never queued twice. */
function buildJob(buildId: string) {
  return {
    name: "build",
    data: { v: 1, buildId } satisfies BuildJob,
    // The build's own record keeps its history: the job only needs to live while it runs.
    opts: { jobId: buildId, removeOnComplete: true, removeOnFail: 1000 },
  };
}

interface Enqueuing {
  buildId: string;
  resolve(): void;
  reject(err: unknown): void;
}

export function createBuildQueue(options: QueueOptions): BuildQueue {
  const connection = createRedis(options.redisUrl);
  const queue = new Queue<BuildJob>(BUILD_QUEUE, { connection, prefix: options.prefix });

  // Builds queued together (a burst of webhook deliveries recorded in one commit) go to Redis as
  // one addBulk, one round trip and one write, rather than one each. "Together" is one run of
  // promise callbacks: a commit answers its deliveries in one such run, each of them enqueues
  // its builds in it, and process.nextTick runs once that run is over. Waiting for setImmediate
  // instead cost each delivery a whole turn of the event loop (its polling and all the I/O
  // callbacks of that turn), about 5 ms under load (bench/README.md).
  let enqueuing: Enqueuing[] = [];
  async function addTogether(): Promise<void> {
    const batch = enqueuing;
    enqueuing = [];
    try {
      await queue.addBulk(batch.map((e) => buildJob(e.buildId)));
      for (const e of batch) e.resolve();
    } catch (err) {
      for (const e of batch) e.reject(err);
    }
  }

  return {
    async enqueue(buildId, options = {}) {
      if (options.replaceEnded) {
        // A job that ended (its processor threw, e.g. on a database outage) keeps the build's id;
        // BullMQ ignores an add with a taken id, so the old job goes first.
        const previous = await queue.getJob(buildId);
        if (previous && ((await previous.isFailed()) || (await previous.isCompleted()))) await previous.remove();
      }
      await new Promise<void>((resolve, reject) => {
        enqueuing.push({ buildId, resolve, reject });
        if (enqueuing.length === 1) process.nextTick(() => void addTogether());
      });
    },
    async remove(buildId) {
      const job = await queue.getJob(buildId);
      if (!job) return false;
      if (await job.isActive()) return false;
      // `remove` fails on a job a worker locked meanwhile; that build is running.
      try {
        await job.remove();
        return true;
      } catch (err) {
        if (await job.isActive()) return false;
        throw err;
      }
    },
    async holds(buildId) {
      const job = await queue.getJob(buildId);
      if (!job) return false;
      const state = await job.getState();
      return state === "waiting" || state === "active" || state === "delayed" || state === "prioritized" || state === "waiting-children";
    },
    counts() {
      return queue.getJobCounts("waiting", "active", "delayed", "failed");
    },
    async ping() {
      await connection.ping();
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

export interface BuildWorkerOptions extends QueueOptions {
  concurrency: number;
  lockDuration: number;
  processor: BuildProcessor;
}

export function createBuildWorker(options: BuildWorkerOptions): Worker<BuildJob> {
  const connection = createRedis(options.redisUrl, { maxRetriesPerRequest: null });
  const workerOptions: WorkerOptions = {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDuration,
    stalledInterval: Math.max(1_000, Math.floor(options.lockDuration / 2)),
    // A build whose worker died is picked up once more; a second loss fails it.
    maxStalledCount: 1,
    autorun: false,
  };
  const worker = new Worker<BuildJob>(
    BUILD_QUEUE,
    (job, token, signal) => options.processor(job, token, signal ?? new AbortController().signal),
    workerOptions,
  );
  // BullMQ leaves a connection it was given open; this one is the worker's alone.
  worker.on("closed", () => connection.disconnect());
  return worker;
}
