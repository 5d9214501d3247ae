import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { createBuildEventBus, type BuildEvent } from "./build-events.js";
import { createBuildQueue, createBuildWorker, createRedis } from "./build-queue.js";

const redisUrl = process.env["REDIS_URL"];
if (!redisUrl) throw new Error("REDIS_URL must point at a Redis (npm test starts one)");

function uniquePrefix(): string {
  return `slipway-test-${randomBytes(4).toString("hex")}`;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function dropPrefix(prefix: string): Promise<void> {
  const redis = createRedis(redisUrl!);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

describe("build queue on a real Redis", () => {
  const prefixes: string[] = [];
  after(async () => {
    for (const prefix of prefixes) await dropPrefix(prefix);
  });

  it("delivers each build once to a worker, and enqueue is idempotent", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const queue = createBuildQueue({ redisUrl, prefix });
    const seen: string[] = [];
    await queue.enqueue("b1");
    await queue.enqueue("b1");
    await queue.enqueue("b2");
    assert.equal(await queue.holds("b1"), true);
    const worker = createBuildWorker({
      redisUrl,
      prefix,
      concurrency: 1,
      lockDuration: 5_000,
      processor: async (job) => {
        seen.push(job.data.buildId);
      },
    });
    void worker.run();
    await waitFor("both builds", () => (seen.length === 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, ["b1", "b2"]);
    assert.equal(await queue.holds("b1"), false);
    await worker.close();
    await queue.close();
  });

  it("sends the builds queued in one turn together, each once", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const queue = createBuildQueue({ redisUrl, prefix });
    await Promise.all(["c1", "c2", "c1", "c3"].map((id) => queue.enqueue(id)));
    for (const id of ["c1", "c2", "c3"]) assert.equal(await queue.holds(id), true);
    assert.deepEqual(await queue.counts(), { waiting: 3, active: 0, delayed: 0, failed: 0 });
    await queue.close();
  });

  it("queues a build again whose job ended without ending it, only when asked to replace it", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const queue = createBuildQueue({ redisUrl, prefix });
    let runs = 0;
    const worker = createBuildWorker({
      redisUrl,
      prefix,
      concurrency: 1,
      lockDuration: 5_000,
      processor: async () => {
        runs += 1;
        if (runs === 1) throw new Error("the database was down");
      },
    });
    void worker.run();
    await queue.enqueue("flaky");
    await waitFor("the first run to fail", async () => (runs === 1 && !(await queue.holds("flaky")) ? true : undefined));
    await queue.enqueue("flaky");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(runs, 1, "a plain enqueue leaves the ended job alone");
    await queue.enqueue("flaky", { replaceEnded: true });
    await waitFor("the second run", () => (runs === 2 ? true : undefined));
    await worker.close();
    await queue.close();
  });

  it("removes a waiting build but not a running one", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const queue = createBuildQueue({ redisUrl, prefix });
    await queue.enqueue("waiting");
    assert.equal(await queue.remove("waiting"), true);
    assert.equal(await queue.holds("waiting"), false);
    assert.equal(await queue.remove("never-queued"), false);

    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    let started = false;
    const worker = createBuildWorker({
      redisUrl,
      prefix,
      concurrency: 1,
      lockDuration: 5_000,
      processor: async () => {
        started = true;
        await running;
      },
    });
    void worker.run();
    await queue.enqueue("running");
    await waitFor("the build to start", () => (started ? true : undefined));
    assert.equal(await queue.remove("running"), false);
    release();
    await worker.close();
    await queue.close();
  });

  it("aborts a running build's signal when a cancel event is published", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const queue = createBuildQueue({ redisUrl, prefix });
    const bus = createBuildEventBus({ publisher: createRedis(redisUrl), subscriber: createRedis(redisUrl), prefix });
    let aborted = false;
    const worker = createBuildWorker({
      redisUrl,
      prefix,
      concurrency: 1,
      lockDuration: 5_000,
      processor: (_job, _token, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          });
        }),
    });
    const unsubscribe = await bus.onCancel((buildId) => worker.cancelJob(buildId));
    void worker.run();
    await queue.enqueue("long");
    await waitFor("the build to be active", async () => ((await worker.isRunning()) && (await queue.holds("long")) ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    await bus.requestCancel("long");
    await waitFor("the abort", () => (aborted ? true : undefined));
    await unsubscribe();
    await worker.close();
    await bus.close();
    await queue.close();
  });

  it("delivers a build's events to its followers only, until they stop", async () => {
    const prefix = uniquePrefix();
    const bus = createBuildEventBus({ publisher: createRedis(redisUrl), subscriber: createRedis(redisUrl), prefix });
    const one: BuildEvent[] = [];
    const alsoOne: BuildEvent[] = [];
    const two: BuildEvent[] = [];
    const stopOne = await bus.subscribe("one", (e) => one.push(e));
    const stopAlsoOne = await bus.subscribe("one", (e) => alsoOne.push(e));
    const stopTwo = await bus.subscribe("two", (e) => two.push(e));
    await bus.publish({ type: "log", buildId: "one", seq: 1, data: "hello" });
    await bus.publish({ type: "status", buildId: "two", status: "building" });
    await waitFor("events", () => (one.length === 1 && alsoOne.length === 1 && two.length === 1 ? true : undefined));
    assert.deepEqual(one, [{ type: "log", buildId: "one", seq: 1, data: "hello" }]);
    assert.deepEqual(two, [{ type: "status", buildId: "two", status: "building" }]);
    await stopOne();
    await stopOne(); // stopping twice must not drop the other follower of "one"
    await bus.publish({ type: "log", buildId: "one", seq: 2, data: "again" });
    await waitFor("the remaining follower", () => (alsoOne.length === 2 ? true : undefined));
    assert.equal(one.length, 1);
    await stopAlsoOne();
    await stopTwo();
    await bus.close();
  });

  it("picks a build up again when its worker dies mid-build", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const queue = createBuildQueue({ redisUrl, prefix });
    // The first worker stops without finishing or releasing the job, as when its process is killed.
    const first = createBuildWorker({
      redisUrl,
      prefix,
      concurrency: 1,
      lockDuration: 1_000,
      processor: () => new Promise<void>(() => {}),
    });
    let firstStarted = false;
    first.on("active", () => (firstStarted = true));
    void first.run();
    await queue.enqueue("orphan");
    await waitFor("the first worker to take it", () => (firstStarted ? true : undefined));
    await first.close(true);

    const seen: string[] = [];
    const second = createBuildWorker({
      redisUrl,
      prefix,
      concurrency: 1,
      lockDuration: 1_000,
      processor: async (job) => {
        seen.push(job.data.buildId);
      },
    });
    void second.run();
    await waitFor("the second worker to pick it up", () => (seen.length > 0 ? true : undefined), 15_000);
    assert.deepEqual(seen, ["orphan"]);
    await second.close();
    await queue.close();
  });
});
