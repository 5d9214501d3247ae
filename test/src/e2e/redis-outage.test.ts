import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createBuildQueue, type BuildQueue } from "@slipway/queue";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { githubPushPayload, sendGithubDelivery } from "../support/github.js";
import { freePort, requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");

/** A Redis of this test's own, on a fixed port, which it stops and starts again. */
class OwnRedis {
  #process: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#process = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    await waitFor("Redis to accept connections", () => new Promise<true | undefined>((resolve) => {
      const socket = connect(this.port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(undefined));
    }), 10_000, 50);
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

describe("a delivery while Redis is down", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;
  let redis: OwnRedis;
  let queue: BuildQueue | undefined;
  const prefix = `slipway-outage-${randomBytes(4).toString("hex")}`;

  before(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    // No worker: what reaches the queue stays there to be looked at, and no sweep queues it.
    ({ git, slipway, stop } = await startEnvironment({ slipway: { worker: false, env: { REDIS_URL: redis.url, SLIPWAY_QUEUE_PREFIX: prefix } } }));
  });
  after(async () => {
    await queue?.close();
    await stop?.();
    await redis.stop();
  });

  it("is recorded with its builds and answered 503; the forge's redelivery, once Redis is back, queues them", async () => {
    const name = `app-${randomBytes(4).toString("hex")}`;
    const forgeName = `acme/${name}`;
    await git.createRepo(forgeName);
    const { commit } = await git.commitAndPush(forgeName, { Dockerfile: `FROM ${baseImage}\nRUN true\n` }, { message: "first commit" });
    assert.equal((await slipway.api("POST", "/repositories", { namespace: "acme", name })).status, 201);
    const source = await slipway.api("PUT", `/repositories/acme/${name}/source`, { provider: "github", repository: forgeName, cloneUrl: git.url(forgeName) });
    assert.equal(source.status, 201);
    const payload = githubPushPayload({ repository: forgeName, ref: "refs/heads/main", after: commit, cloneUrl: git.url(forgeName) });
    const deliver = () => sendGithubDelivery(source.body.webhookUrl, payload, { secret: source.body.secret, deliveryId: "outage-guid" });

    await redis.stop();
    const first = await deliver();
    assert.equal(first.status, 503, JSON.stringify(first.body));
    assert.equal(first.body.error.code, "service_unavailable");
    assert.equal(first.body.builds.length, 1);
    const [build] = first.body.builds;
    // Recorded, and kept queued for when Redis is back.
    assert.equal((await slipway.api("GET", `/builds/${build.id}`)).body.status, "queued");
    const recorded = await slipway.api("GET", `/deliveries?source=${source.body.id}`);
    assert.deepEqual(
      recorded.body.deliveries.map((d: any) => [d.id, d.status, d.outcome, d.builds]),
      [[first.body.delivery, 503, "queued", [build.id]]],
    );

    await redis.start();
    queue = createBuildQueue({ redisUrl: redis.url, prefix });
    assert.equal(await queue.holds(build.id), false, "Redis came back empty");
    await waitFor("the API to see Redis again", async () => {
      const ready = (await (await fetch(`${slipway.url}/readyz`)).json()) as any;
      return ready.checks.redis === "ok" ? true : undefined;
    }, 20_000, 100);

    const again = await deliver();
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.match(again.body.ignored, /redelivery/);
    assert.deepEqual(again.body.builds.map((b: any) => b.id), [build.id]);
    assert.equal(await queue.holds(build.id), true, "the redelivery queued the first delivery's build");

    // A second redelivery queues nothing twice, and every delivery is on record.
    assert.equal((await deliver()).status, 200);
    assert.equal((await queue.counts())["waiting"], 1);
    const all = await slipway.api("GET", `/deliveries?source=${source.body.id}`);
    assert.deepEqual(all.body.deliveries.map((d: any) => [d.status, d.outcome]), [[200, "duplicate"], [200, "duplicate"], [503, "queued"]]);
  });
});
