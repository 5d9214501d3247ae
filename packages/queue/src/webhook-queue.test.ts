import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { createRedis } from "./build-queue.js";
import { createWebhookQueue, createWebhookWorker, type DeliveryAttempt, type DeliveryOutcome } from "./webhook-queue.js";

const redisUrl = process.env["REDIS_URL"];
if (!redisUrl) throw new Error("REDIS_URL must point at a Redis (npm test starts one)");

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("webhook queue on a real Redis", () => {
  const prefixes: string[] = [];
  after(async () => {
    const redis = createRedis(redisUrl);
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  /** A queue and a worker whose delivery outcomes follow `script` per delivery id. */
  function setUp(script: Record<string, DeliveryOutcome[]>) {
    const prefix = `slipway-test-${randomBytes(4).toString("hex")}`;
    prefixes.push(prefix);
    const queue = createWebhookQueue({ redisUrl: redisUrl!, prefix, backoffMs: 50, attempts: 4 });
    const attempts: (DeliveryAttempt & { at: number })[] = [];
    const ended: string[] = [];
    const worker = createWebhookWorker({
      redisUrl: redisUrl!,
      prefix,
      concurrency: 2,
      processors: {
        async buildEnded(job) {
          ended.push(job.buildId);
        },
        async pushed(job) {
          ended.push(`push ${job.pushId}`);
        },
        async deliver(attempt) {
          attempts.push({ ...attempt, at: Date.now() });
          return script[attempt.deliveryId]?.shift() ?? "done";
        },
      },
    });
    void worker.run();
    return { queue, worker, attempts, ended, close: () => Promise.all([worker.close(), queue.close()]) };
  }

  it("retries a failed attempt with growing waits, and says which attempt is the last", async () => {
    const { queue, attempts, close } = setUp({ d1: ["retry", "retry", "done"], d2: ["retry", "retry", "retry", "retry", "retry"] });
    try {
      await queue.deliver("d1");
      await queue.deliver("d2");
      await waitFor("every attempt", () => (attempts.length === 7 ? true : undefined));
      const of = (id: string) => attempts.filter((a) => a.deliveryId === id);
      assert.deepEqual(of("d1").map((a) => [a.attempt, a.last]), [[1, false], [2, false], [3, false]]);
      assert.deepEqual(of("d2").map((a) => [a.attempt, a.last]), [[1, false], [2, false], [3, false], [4, true]]);
      const waits = of("d2").slice(1).map((a, i) => a.at - of("d2")[i]!.at);
      // 50, 100, 200 ms: exponential.
      assert.ok(waits[0]! >= 45 && waits[1]! >= 95 && waits[2]! >= 195, JSON.stringify(waits));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(attempts.length, 7, "no attempt after the last");
    } finally {
      await close();
    }
  });

  it("gives up at once on a refused target", async () => {
    const { queue, attempts, close } = setUp({ d1: ["give_up"] });
    try {
      await queue.deliver("d1");
      await waitFor("the attempt", () => (attempts.length === 1 ? true : undefined));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(attempts.length, 1);
    } finally {
      await close();
    }
  });

  it("starts a series once, unless asked again (a redelivery)", async () => {
    const { queue, attempts, ended, close } = setUp({ d1: ["retry", "retry", "retry", "retry"] });
    try {
      await queue.deliver("d1");
      await queue.deliver("d1");
      await waitFor("the first series", () => (attempts.length === 4 ? true : undefined));
      await queue.deliver("d1");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(attempts.length, 4, "a failed series is not started again by the fan-out");
      // Two redeliveries asked for at once (both saw the 4 attempts recorded): one series.
      await Promise.all([queue.deliver("d1", { again: { after: 4 } }), queue.deliver("d1", { again: { after: 4 } })]);
      await waitFor("the redelivery", () => (attempts.length === 5 ? true : undefined));
      assert.deepEqual([attempts[4]?.attempt, attempts[4]?.last], [1, false]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(attempts.length, 5, "a redelivery is queued once per attempts count");
      await queue.deliver("d1", { again: { after: 5 } });
      await waitFor("the next redelivery", () => (attempts.length === 6 ? true : undefined));

      await queue.buildEnded("b1");
      await waitFor("the fan-out", () => (ended.length === 1 ? true : undefined));
      assert.deepEqual(ended, ["b1"]);
      await queue.pushed("p1");
      await waitFor("the push's fan-out", () => (ended.length === 2 ? true : undefined));
      assert.deepEqual(ended, ["b1", "push p1"]);
    } finally {
      await close();
    }
  });
});
