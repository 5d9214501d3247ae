import { SlipwayError } from "@slipway/core";
import { RateLimiterRes, type RateLimiterRedis } from "rate-limiter-flexible";

/**
 * Counts one call against `key`: undefined while within the limit, else the seconds until the
 * next call is allowed. A limiter whose Redis is down refuses (service_unavailable) rather than
 * letting calls through uncounted.
 */
export async function retryAfterSeconds(limiter: RateLimiterRedis, key: string, what: string): Promise<number | undefined> {
  try {
    await limiter.consume(key);
    return undefined;
  } catch (err) {
    if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new SlipwayError("service_unavailable", `${what} are counted in Redis, which is unavailable; try again shortly`, { cause: err });
  }
}
