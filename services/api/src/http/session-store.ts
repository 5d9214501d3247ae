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
  const keyOf = (id: string) => `${prefix}:session:${createHash("sha256").update(id, "utf8").digest("hex")}`;
  // When a user's sessions last ended (a password change): one made before is over. Kept for good,
  // since a session in use never expires; one small key per user who ever changed a password.
  const endedKey = (userId: string) => `${prefix}:sessions-ended:${userId}`;

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
      await redisCall("sign in", () => redis.set(keyOf(id), JSON.stringify(session), "EX", idle));
      return { id, session };
    },
    async touch(id) {
      const raw = await redisCall("session", () => redis.getex(keyOf(id), "EX", idle));
      if (raw === null) return undefined;
      const parsed = JSON.parse(raw) as Partial<Session>;
      // A session from before accounts (no user) is over: its holder signs in again.
      if (typeof parsed.userId !== "string" || typeof parsed.csrfToken !== "string" || typeof parsed.createdAt !== "string") return undefined;
      const ended = await redisCall("session", () => redis.get(endedKey(parsed.userId!)));
      if (ended !== null && Date.parse(parsed.createdAt) <= Number(ended)) return undefined;
      return { userId: parsed.userId, csrfToken: parsed.csrfToken, createdAt: parsed.createdAt };
    },
    async destroy(id) {
      await redisCall("sign out", () => redis.del(keyOf(id)));
    },
    async endSessionsOf(userId, except) {
      await redisCall("end sessions", async () => {
        const now = Date.now();
        const kept = except === undefined ? null : await redis.get(keyOf(except));
        const multi = redis.multi().set(endedKey(userId), String(now));
        // The session that asked goes on: as if made just after the others ended.
        if (kept !== null) multi.set(keyOf(except!), JSON.stringify({ ...(JSON.parse(kept) as Session), createdAt: new Date(now + 1).toISOString() }), "KEEPTTL");
        for (const [err] of (await multi.exec()) ?? []) if (err) throw err;
      });
    },
  };
}
