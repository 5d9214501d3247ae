import type Dockerode from "dockerode";
import type { Logger } from "pino";
import { runPeriodically, type Periodic } from "./periodic.js";

/** What the pruner needs of Redis: a sorted set of the images builds made. */
export interface PrunerRedis {
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zrangebyscore(key: string, min: number | string, max: number | string): Promise<string[]>;
  zrem(key: string, ...members: string[]): Promise<unknown>;
}

export interface ImagePrunerDeps {
  docker: Dockerode;
  redis: PrunerRedis;
  /** The sorted set's key: Slipway's prefix and the engine's address (each engine has its own images). */
  key: string;
  /** How long after its last build an image may go, once no tag holds it any more. */
  retentionMs: number;
  logger: Logger;
}

export interface ImagePruner {
  /** Notes an image a build made (or made again: its time starts anew). */
  built(imageId: string): Promise<void>;
  /** One round: removes what may go; answers how many images it removed. */
  prune(now?: number): Promise<number>;
  start(intervalMs: number): void;
  stop(): void;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number } | null)?.statusCode;

/**
 * Keeps the build engine's disk from filling with Slipway's old images. Each build's image is
 * noted (a sorted set in Redis, by time); a newer build of the same tag takes the tag away, and
 * the old image, with its layers, would stay for good. Once `retentionMs` has passed since its
 * last build, an image that no tag holds is removed, with the untagged layers only it used. Only
 * images Slipway built are ever touched, never anything else on the engine (an engine may be
 * shared). An image a container uses, or that a newer image builds on, stays until it is free.
 */
export function createImagePruner(deps: ImagePrunerDeps): ImagePruner {
  const { docker, redis, key, logger } = deps;
  let periodic: Periodic | undefined;

  async function prune(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const id of await redis.zrangebyscore(key, "-inf", now - deps.retentionMs)) {
      let tags: string[];
      try {
        tags = (await docker.getImage(id).inspect()).RepoTags ?? [];
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        await redis.zrem(key, id);
        continue;
      }
      // Still somebody's image (a tag's current one): looked at again next round.
      if (tags.length > 0) continue;
      try {
        await docker.getImage(id).remove();
        removed++;
      } catch (err) {
        // 409: a container uses it, or a newer image builds on it; it goes once it is free.
        if (statusOf(err) === 409) continue;
        if (statusOf(err) !== 404) throw err;
      }
      await redis.zrem(key, id);
    }
    if (removed > 0) logger.info({ removed }, "removed images of earlier builds that no tag holds any more");
    return removed;
  }

  return {
    async built(imageId) {
      await redis.zadd(key, Date.now(), imageId);
    },
    prune,
    start(intervalMs) {
      periodic = runPeriodically(() => prune(), intervalMs, (err) => logger.warn({ err }, "could not remove images of earlier builds"), intervalMs);
    },
    stop() {
      periodic?.stop();
    },
  };
}
