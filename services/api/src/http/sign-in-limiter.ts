import { SlipwayError } from "@slipway/core";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RateLimitDeps } from "../routes/route-deps.js";

/**
 * Failed sign-ins, counted in the Redis every API process shares: 10 in a row for one username from
 * one address lock that pair out for 15 minutes; 100 an hour from one address lock the address out.
 * Every attempt is counted before it is checked and a success takes its count back (docker asks for
 * a registry token on every pull), so only failures are held against a caller.
 * Redis down: sign-ins are refused (service_unavailable) rather than left unlimited.
 */
export interface SignInLimiter {
  /**
   * Counts an attempt before its credential is checked, so that a burst of guesses cannot all pass
   * while the first ones are still being hashed; SlipwayError("rate_limited", with Retry-After) when
   * over the limit.
   */
  attempt(username: string, address: string): Promise<void>;
  /** The attempt succeeded: it is not held against the pair nor the address. */
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
      throw new SlipwayError("service_unavailable", "sign-ins are counted in Redis, which is unavailable; try again shortly", { cause: err });
    }
  }

  return {
    async attempt(username, from) {
      const tooMany = (seen: RateLimiterRes) => {
        const retryAfterSeconds = Math.max(1, Math.ceil(seen.msBeforeNext / 1000));
        return new SlipwayError("rate_limited", `too many failed sign-ins; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
      };
      // Over the limit, consume rejects with the count: the same answer as under it, for the check below.
      const consume = (limiter: RateLimiterRedis, key: string) =>
        limiter.consume(key).catch((err: unknown) => {
          if (err instanceof RateLimiterRes) return err;
          throw err;
        });
      const [byPair, byAddress] = await redis(() => Promise.all([consume(pair, pairKey(username, from)), consume(address, from)]));
      for (const [seen, limit] of [[byPair, PER_USER_AND_ADDRESS.points], [byAddress, PER_ADDRESS.points]] as const) {
        if (seen.consumedPoints > limit) throw tooMany(seen);
      }
    },
    async succeed(username, from) {
      await redis(() => Promise.all([pair.delete(pairKey(username, from)), address.reward(from, 1)]));
    },
  };
}
