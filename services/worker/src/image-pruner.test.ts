import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import Dockerode from "dockerode";
import { createRedis } from "@slipway/queue";
import { createLogger } from "@slipway/config";
import { createImagePruner } from "./image-pruner.js";

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set: run these tests through \`npm test\``);
  return value;
}

const BASE = `${requireEnv("SLIPWAY_REGISTRY")}/slipway/busybox:latest`;
const HOUR = 60 * 60_000;

/** A real engine and a real Redis: images made by committing containers of the base image. */
describe("the image pruner", () => {
  const url = new URL(requireEnv("DOCKER_HOST"));
  const docker = url.protocol === "unix:" ? new Dockerode({ socketPath: url.pathname }) : new Dockerode({ host: url.hostname, port: Number(url.port || 2375) });
  const redis = createRedis(requireEnv("REDIS_URL"));
  const prefix = `slipway-test-${randomUUID()}`;
  const pruner = createImagePruner({ docker, redis, prefix, retentionMs: HOUR, logger: createLogger({ level: "silent", name: "image-pruner-test" }) });
  /** The engine's own list: named by its id, so that engines sharing a socket path on other machines keep theirs. */
  let key: string;
  const leftovers: string[] = [];
  const containers: Dockerode.Container[] = [];

  /** A new image (a commit of a container of the base image), tagged when `tag` is given. */
  async function image(tag?: string): Promise<string> {
    const container = await docker.createContainer({ Image: BASE, Cmd: ["true"] });
    containers.push(container);
    const colon = tag?.lastIndexOf(":") ?? -1;
    const named = tag === undefined ? {} : { repo: tag.slice(0, colon), tag: tag.slice(colon + 1) };
    const { Id } = (await container.commit({ ...named, comment: randomUUID() })) as { Id: string };
    leftovers.push(Id);
    return Id;
  }

  const exists = async (id: string) =>
    docker
      .getImage(id)
      .inspect()
      .then(() => true)
      .catch((err: { statusCode?: number }) => (err.statusCode === 404 ? false : Promise.reject(err)));

  before(async () => {
    await docker.getImage(BASE).inspect();
    key = `${prefix}:built-images:${((await docker.info()) as { ID: string }).ID}`;
  });
  after(async () => {
    for (const container of containers) await container.remove({ force: true }).catch(() => undefined);
    // Tags first (some stand on the base image, which stays), then the images made here.
    for (const id of leftovers.filter((ref) => ref.includes(":latest"))) await docker.getImage(id).remove({ noprune: true }).catch(() => undefined);
    for (const id of leftovers.filter((ref) => !ref.includes(":latest"))) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
    await redis.del(key);
    redis.disconnect();
  });

  it("removes the images builds made that no tag holds once their time is up, and nothing else", async () => {
    const superseded = await image();
    const current = await image(`slipway-prune-test-${randomUUID().slice(0, 8)}:latest`);
    const recent = await image();
    const foreign = await image();
    const now = Date.now();
    for (const id of [superseded, current]) await pruner.built(id);
    await pruner.built(recent);
    // `recent` was built within the hour; the others two hours ago.
    await redis.zadd(key, now - 2 * HOUR, superseded, now - 2 * HOUR, current);

    assert.equal(await pruner.prune(now), 1);
    assert.equal(await exists(superseded), false, "no tag holds it and its time is up");
    assert.equal(await exists(current), true, "a tag holds it");
    assert.equal(await exists(recent), true, "built within the retention");
    assert.equal(await exists(foreign), true, "not Slipway's");
    assert.deepEqual((await redis.zrange(key, 0, -1)).sort(), [current, recent].sort(), "what is gone is no longer noted");

    // Built again: its time starts anew.
    await pruner.built(current);
    assert.ok(Number(await redis.zscore(key, current)) >= now);
  });

  it("removes an image that only the digests it was pushed under still name, in several repositories", async () => {
    await redis.del(key);
    const registry = requireEnv("SLIPWAY_REGISTRY");
    const run = randomUUID().slice(0, 8);
    const repositories = [`${registry}/slipway-prune-test/a-${run}`, `${registry}/slipway-prune-test/b-${run}`];
    const pushed = await image(`${repositories[0]}:latest`);
    await docker.getImage(pushed).tag({ repo: repositories[1]!, tag: "latest" });
    for (const repository of repositories) {
      const stream = await docker.getImage(`${repository}:latest`).push({ authconfig: { serveraddress: registry } });
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
      // A newer build took the tag (the base image stands in for it): only the digest still names it here.
      await docker.getImage(BASE).tag({ repo: repository, tag: "latest" });
      leftovers.push(`${repository}:latest`);
    }
    const before = await docker.getImage(pushed).inspect();
    assert.deepEqual(before.RepoTags ?? [], []);
    assert.equal(before.RepoDigests?.length, 2, JSON.stringify(before.RepoDigests));
    await pruner.built(pushed);

    assert.equal(await pruner.prune(Date.now() + 2 * HOUR), 1);
    assert.equal(await exists(pushed), false);
  });

  it("keeps an image a container uses until it is free, and forgets one that is gone already", async () => {
    await redis.del(key);
    const used = await image();
    const gone = await image();
    const container = await docker.createContainer({ Image: used, Cmd: ["true"] });
    containers.push(container);
    await docker.getImage(gone).remove();
    await pruner.built(used);
    await pruner.built(gone);
    const later = Date.now() + 2 * HOUR;

    assert.equal(await pruner.prune(later), 0);
    assert.equal(await exists(used), true);
    assert.deepEqual(await redis.zrange(key, 0, -1), [used]);

    await container.remove({ force: true });
    assert.equal(await pruner.prune(later), 1);
    assert.equal(await exists(used), false);
  });
});
