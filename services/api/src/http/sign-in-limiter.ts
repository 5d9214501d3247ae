import { SlipwayError } from "@slipway/core";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimitDeps } from "../routes/route-deps.js";

/**
 * Failed sign-ins, counted in the Redis every API process shares: 10 in a row for one username from
 * one address lock that pair out for 15 minutes; 100 an hour from one address lock the address out.
 * Only failures count (docker asks for a registry token on every pull), and a success clears the pair.
 * Redis down: sign-ins are refused (service_unavailable) rather than left unlimited.
 */
export interface SignInLimiter {
  /** SlipwayError("rate_limited", with Retry-After) while locked out. */
  check(username: string, address: string): Promise<void>;
  fail(username: string, address: string): Promise<void>;
  succeed(username: string, address: string): Promise<void>;
}

const PER_USER_AND_ADDRESS = { points: 10, duration: 15 * 60 };
const PER_ADDRESS = { points: 100, duration: 60 * 60 };

export function createSignInLimiter(deps: Pick<RateLimitDeps, "redis" | "prefix">): SignInLimiter {
  const pair = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.prefix}:sign-in:pair`, ...PER_USER_AND_ADDRESS });
  const address = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${deps.prefix}:sign-in:address`, ...PER_ADDRESS });
  const pairKey = (username: string, from: string) => `${username.toLowerCase()}|${from}`;

  async function redis<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof RateLimiterRes) return err as T;
      throw new SlipwayError("service_unavailable", "sign-ins are counted in Redis, which is unavailable; try again shortly", { cause: err });
    }
  }

  return {
    async check(username, from) {
      const [byPair, byAddress] = await redis(() => Promise.all([pair.get(pairKey(username, from)), address.get(from)]));
      for (const [seen, limit] of [[byPair, PER_USER_AND_ADDRESS.points], [byAddress, PER_ADDRESS.points]] as const) {
        if (seen !== null && seen.consumedPoints >= limit) {
          const retryAfterSeconds = Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
          throw new SlipwayError("rate_limited", `too many failed sign-ins; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
        }
      }
    },
    async fail(username, from) {
      await redis(() => Promise.all([pair.consume(pairKey(username, from)), address.consume(from)]));
    },
    async succeed(username, from) {
      await redis(() => pair.delete(pairKey(username, from)));
    },
  };
}
