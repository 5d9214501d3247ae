import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createRedis } from "./build-queue.js";
import { createLocks } from "./redis-lock.js";

const redisUrl = process.env["REDIS_URL"];
if (!redisUrl) throw new Error("REDIS_URL must point at a Redis (npm test starts one)");

describe("locks on a real Redis", () => {
  it("lets one holder in at a time, across connections, and releases on error", async () => {
    const prefix = `slipway-test-${randomBytes(4).toString("hex")}`;
    const a = createRedis(redisUrl);
    const b = createRedis(redisUrl);
    const locksA = createLocks({ redis: a, prefix, pollMs: 5 });
    const locksB = createLocks({ redis: b, prefix, pollMs: 5 });
    const signal = new AbortController().signal;
    const events: string[] = [];
    const hold = (locks: typeof locksA, who: string) =>
      locks.withLock("tag", async () => {
        events.push(`${who} in`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${who} out`);
      }, signal);
    await Promise.all([hold(locksA, "a"), hold(locksB, "b"), hold(locksA, "c")]);
    for (let i = 0; i < events.length; i += 2) assert.equal(events[i]!.split(" ")[0], events[i + 1]!.split(" ")[0], events.join(", "));

    await assert.rejects(locksA.withLock("tag", async () => Promise.reject(new Error("boom")), signal), /boom/);
    assert.equal(await locksB.withLock("tag", async () => "free again", signal), "free again");
    a.disconnect();
    b.disconnect();
  });

  it("stops waiting when aborted", async () => {
    const prefix = `slipway-test-${randomBytes(4).toString("hex")}`;
    const redis = createRedis(redisUrl);
    const locks = createLocks({ redis, prefix, pollMs: 5 });
    let release!: () => void;
    const held = locks.withLock("x", () => new Promise<void>((r) => (release = r)), new AbortController().signal);
    await new Promise((r) => setTimeout(r, 20));
    const controller = new AbortController();
    const waiting = locks.withLock("x", async () => "never", controller.signal);
    controller.abort(new Error("canceled"));
    await assert.rejects(waiting, /canceled/);
    release();
    await held;
    redis.disconnect();
  });
});
