import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

// Release or extend only a lock this holder still owns (its token), atomically.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export interface Locks {
  /**
   * Runs `fn` while holding the named lock, across every process on this Redis. The lock is
   * kept alive while `fn` runs and lapses on its own if the holder dies.
   */
  withLock<T>(name: string, fn: () => Promise<T>, signal: AbortSignal): Promise<T>;
}

export function createLocks(options: { redis: Redis; prefix: string; ttlMs?: number; pollMs?: number }): Locks {
  const { redis } = options;
  const ttlMs = options.ttlMs ?? 30_000;
  const pollMs = options.pollMs ?? 50;
  return {
    async withLock(name, fn, signal) {
      const key = `${options.prefix}:lock:${name}`;
      const token = randomBytes(16).toString("hex");
      while ((await redis.set(key, token, "PX", ttlMs, "NX")) !== "OK") {
        signal.throwIfAborted();
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
      const keepAlive = setInterval(() => {
        // A missed extension only brings the lapse closer; the next tick tries again.
        redis.eval(EXTEND, 1, key, token, String(ttlMs)).catch(() => undefined);
      }, Math.floor(ttlMs / 3));
      try {
        return await fn();
      } finally {
        clearInterval(keepAlive);
        await redis.eval(RELEASE, 1, key, token);
      }
    },
  };
}
