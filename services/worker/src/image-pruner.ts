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
  /**
   * Slipway's Redis prefix. The sorted set is this installation's for this engine, named by the
   * engine's own id: workers on several machines, each with a local socket of the same path, keep
   * a list each.
   */
  prefix: string;
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
 * the images builds ended with are ever looked at (for a Dockerfile that is a lone FROM, that is
 * the base image itself), never anything else on the engine (an engine may be shared). An image a
 * container uses, or that a newer image builds on, stays until it is free.
 * Like `docker image prune`, a removal can race a build that is about to reuse that very image
 * (from its cache) at that moment; such a build fails with the engine's error, and its retry builds.
 */
export function createImagePruner(deps: ImagePrunerDeps): ImagePruner {
  const { docker, redis, logger } = deps;
  let periodic: Periodic | undefined;
  let engineKey: Promise<string> | undefined;

  /** The sorted set's key, once the engine has said who it is (asked again after a failure). */
  function keyOf(): Promise<string> {
    engineKey ??= docker.info().then(
      (info: { ID?: string }) => `${deps.prefix}:built-images:${info.ID ?? "engine"}`,
      (err: unknown) => {
        engineKey = undefined;
        throw err;
      },
    );
    return engineKey;
  }

  async function prune(now = Date.now()): Promise<number> {
    const key = await keyOf();
    let removed = 0;
    for (const id of await redis.zrangebyscore(key, "-inf", now - deps.retentionMs)) {
      let image: Dockerode.ImageInspectInfo;
      try {
        image = await docker.getImage(id).inspect();
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        await redis.zrem(key, id);
        continue;
      }
      // Still somebody's image (a tag's current one): looked at again next round.
      if ((image.RepoTags ?? []).length > 0) continue;
      // What still names it are the digests it was pushed under (several repositories, when their
      // builds came out the same): removing the last removes the image, and the layers only it used.
      const references = image.RepoDigests ?? [];
      try {
        for (const reference of references.length > 0 ? references : [id]) {
          await docker
            .getImage(reference)
            .remove()
            .catch((err: unknown) => {
              if (statusOf(err) !== 404) throw err;
            });
        }
        removed++;
      } catch (err) {
        // 409: a container uses it, or a newer image builds on it; it goes once it is free.
        if (statusOf(err) === 409) continue;
        throw err;
      }
      await redis.zrem(key, id);
    }
    if (removed > 0) logger.info({ removed }, "removed images of earlier builds that no tag holds any more");
    return removed;
  }

  return {
    async built(imageId) {
      await redis.zadd(await keyOf(), Date.now(), imageId);
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
