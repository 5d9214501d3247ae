import { createHash } from "node:crypto";
import { generateToken, SlipwayError } from "@slipway/core";
import type { createRedis } from "@slipway/queue";

/** A dashboard session: what the server keeps under the cookie's id. */
export interface Session {
  /** Who signed in. */
  userId: string;
  /** Sent back by the dashboard as X-CSRF-Token with every state-changing request. */
  csrfToken: string;
  createdAt: string;
}

export interface SessionStore {
  /** A new session of that user and the id its cookie carries. */
  create(userId: string): Promise<{ id: string; session: Session }>;
  /** The session, with its idle expiry pushed back; undefined when unknown or expired. */
  touch(id: string): Promise<Session | undefined>;
  destroy(id: string): Promise<void>;
  /** Ends every session of that user but `except` (the one asking): after a password change. */
  endSessionsOf(userId: string, except?: string): Promise<void>;
}

export interface RedisSessionStoreOptions {
  redis: ReturnType<typeof createRedis>;
  /** Slipway's Redis key prefix (SLIPWAY_QUEUE_PREFIX). */
  prefix: string;
  /** A session unused this long ends. */
  idleSeconds?: number;
}

export const SESSION_IDLE_SECONDS = 12 * 60 * 60;

/**
 * Sessions in the Redis the API processes share: every process sees them, and they outlive
 * an API restart. Keys hold the SHA-256 of the id, so Redis never holds a usable cookie.
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { redis, prefix } = options;
  const idle = options.idleSeconds ?? SESSION_IDLE_SECONDS;
  const hashOf = (id: string) => createHash("sha256").update(id, "utf8").digest("hex");
  const keyOf = (id: string) => sessionKey(hashOf(id));
  const sessionKey = (hash: string) => `${prefix}:session:${hash}`;
  // Each user's sessions (their hashes), so that a password change can end them. Members whose
  // session has expired are dropped as the user signs in again.
  const userKey = (userId: string) => `${prefix}:user-sessions:${userId}`;

  /** Runs a MULTI; a command's own error (EXEC answers each) fails it. */
  async function execAll(multi: ReturnType<typeof redis.multi>): Promise<void> {
    for (const [err] of (await multi.exec()) ?? []) if (err) throw err;
  }

  async function redisCall<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new SlipwayError("service_unavailable", `sessions are kept in Redis, which is unavailable (${what}); try again shortly`, { cause: err });
    }
  }

  return {
    async create(userId) {
      const id = generateToken(32);
      const session: Session = { userId, csrfToken: generateToken(32), createdAt: new Date().toISOString() };
      await redisCall("sign in", async () => {
        const known = await redis.smembers(userKey(userId));
        const alive = known.length === 0 ? [] : await redis.mget(known.map(sessionKey));
        const expired = known.filter((_, i) => alive[i] === null);
        const multi = redis.multi().set(keyOf(id), JSON.stringify(session), "EX", idle).sadd(userKey(userId), hashOf(id));
        if (expired.length > 0) multi.srem(userKey(userId), ...expired);
        await execAll(multi);
      });
      return { id, session };
    },
    async touch(id) {
      const raw = await redisCall("session", () => redis.getex(keyOf(id), "EX", idle));
      if (raw === null) return undefined;
      const parsed = JSON.parse(raw) as Partial<Session>;
      // A session from before accounts (no user) is over: its holder signs in again.
      return typeof parsed.userId === "string" && typeof parsed.csrfToken === "string" && typeof parsed.createdAt === "string"
        ? { userId: parsed.userId, csrfToken: parsed.csrfToken, createdAt: parsed.createdAt }
        : undefined;
    },
    async destroy(id) {
      await redisCall("sign out", () => redis.del(keyOf(id)));
    },
    async endSessionsOf(userId, except) {
      const kept = except === undefined ? undefined : hashOf(except);
      await redisCall("end sessions", async () => {
        const ended = (await redis.smembers(userKey(userId))).filter((hash) => hash !== kept);
        if (ended.length === 0) return;
        await execAll(redis.multi().del(...ended.map(sessionKey)).srem(userKey(userId), ...ended));
      });
    },
  };
}
