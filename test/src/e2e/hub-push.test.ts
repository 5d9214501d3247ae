import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { loadRegistryTokenKey } from "@slipway/config";
import { mintRegistryToken, REGISTRY_TOKEN_ISSUER, REGISTRY_TOKEN_SERVICE } from "@slipway/core";
import type { FileContent, GitServer } from "../git-server.js";
import { testDocker } from "../support/docker.js";
import { startEnvironment } from "../support/environment.js";
import { startHubRegistry, type HubRegistry } from "../support/hub-registry.js";
import { freePort, requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
const hook = (...lines: string[]): FileContent => ({ content: ["#!/bin/bash", ...lines, ""].join("\n"), mode: 0o755 });
const MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

interface PushEvent {
  action: string;
  target: { repository: string; tag?: string; digest: string };
  actor: { name?: string };
}

describe("builds push to a registry with token authentication, each with a token of its own", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;
  let hub: HubRegistry | undefined;
  let events: Server | undefined;
  const pushes: PushEvent[] = [];

  before(async () => {
    // Slipway names its registry at start, and the registry reads Slipway's certificate at start:
    // the address first, then Slipway (whose worker makes the key), then the registry.
    const port = await freePort();
    ({ git, slipway, stop } = await startEnvironment({ slipway: { env: { SLIPWAY_REGISTRY: `127.0.0.1:${port}` }, worker: false } }));
    events = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (req.headers.authorization === "Bearer hub-events") pushes.push(...(JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: PushEvent[] }).events);
        res.writeHead(204).end();
      });
    });
    const eventsPort = await freePort();
    await new Promise<void>((resolve) => events!.listen(eventsPort, "127.0.0.1", resolve));
    const key = loadRegistryTokenKey(slipway.dataDir);
    hub = await startHubRegistry({
      certificatePath: key.certificatePath,
      realm: `${slipway.url}/v2/token`,
      eventsUrl: `http://127.0.0.1:${eventsPort}/registry/events`,
      eventsSecret: "hub-events",
      port,
    });
    await slipway.startWorker();
  });
  after(async () => {
    await stop?.();
    await hub?.close();
    await new Promise((resolve) => (events === undefined ? resolve(undefined) : events.close(resolve)));
  });

  async function build(files: Record<string, FileContent>, options: { namespace?: string; private?: boolean; status?: string } = {}) {
    const namespace = options.namespace ?? "acme";
    const name = `hub-${randomBytes(4).toString("hex")}`;
    await git.createRepo(`${namespace}/${name}`);
    await git.commitAndPush(`${namespace}/${name}`, files, { message: "first" });
    const path = `/repositories/${namespace}/${name}`;
    assert.equal((await slipway.api("POST", "/repositories", { namespace, name, private: options.private ?? false })).status, 201);
    assert.equal((await slipway.api("PUT", `${path}/source`, { provider: "github", repository: `${namespace}/${name}`, cloneUrl: git.url(`${namespace}/${name}`) })).status, 201);
    const started = await slipway.api("POST", `${path}/builds`, { sourceType: "branch", sourceName: "main" });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const done = await slipway.waitForBuild(started.body.builds[0].id);
    const log = (await slipway.api<string>("GET", `/builds/${done.id}/logs`)).body;
    assert.equal(done.status, options.status ?? "success", `${JSON.stringify(done.error)}\n${log}\n${slipway.output().slice(-3000)}`);
    return { build: done, repository: `${namespace}/${name}`, log };
  }

  async function manifestStatus(repository: string, tag: string, bearer?: string): Promise<number> {
    const headers: Record<string, string> = { accept: MANIFEST_TYPES, ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }) };
    const res = await fetch(`http://${hub!.address}/v2/${repository}/manifests/${tag}`, { method: "HEAD", headers });
    return res.status;
  }

  it("pushes a build with a token for its one repository; the registry names the build as the pusher", async () => {
    const { build: done, repository } = await build({ Dockerfile: `FROM ${baseImage}\nRUN echo hub > /hub.txt\n` });
    const event = await waitFor("the push event", () => pushes.find((e) => e.target.repository === repository && e.target.tag === "latest"), 10_000);
    assert.equal(event.action, "push");
    assert.equal(event.actor.name, `slipway:build:${done.id}`);
    assert.equal(event.target.digest, done.digest);
    assert.equal(await manifestStatus(repository, "latest"), 401, "nobody pulls without a token");
    const key = loadRegistryTokenKey(slipway.dataDir);
    const signer = { privateKey: key.privateKey, keyId: key.keyId, issuer: REGISTRY_TOKEN_ISSUER, service: REGISTRY_TOKEN_SERVICE };
    const { token } = await mintRegistryToken(signer, { subject: "reader", access: [{ type: "repository", name: repository, actions: ["pull"] }] });
    assert.equal(await manifestStatus(repository, "latest", token), 200);
  });

  it("builds FROM a public repository of the registry that the engine does not have, never FROM a private one of another namespace", async () => {
    const docker = testDocker();
    const base = async (isPrivate: boolean) => {
      const { build: done } = await build({ Dockerfile: `FROM ${baseImage}\nRUN echo ${isPrivate ? "secret" : "shared"} > /base.txt\n` }, { namespace: "other", private: isPrivate });
      // Not on the engine any more: a build FROM it must pull it from the registry, which asks Slipway's token service.
      await docker.getImage(`${done.image}:latest`).remove({ noprune: true });
      return `${done.image}:latest`;
    };
    const [shared, secret] = [await base(false), await base(true)];

    const { build: done, log } = await build({ Dockerfile: `FROM ${shared}\nRUN cat /base.txt\n` });
    assert.match(log, /shared/);
    assert.equal(done.status, "success");

    const refused = await build({ Dockerfile: `FROM ${secret}\nRUN cat /base.txt\n` }, { status: "failed" });
    assert.doesNotMatch(refused.log, /secret\n/);
    assert.match(`${refused.build.error.message}\n${refused.log}`, /denied|unauthorized|not found/i);
  });

  it("lends the token to the hooks' docker through the engine proxy, never to the hook itself", async () => {
    const { build: done, repository } = await build({
      Dockerfile: `FROM ${baseImage}\n`,
      "hooks/push": hook('docker push "$IMAGE_NAME"', 'cat ~/.docker/config.json 2>/dev/null || echo "no docker login"'),
      "hooks/post_push": hook('docker tag "$IMAGE_NAME" "$DOCKER_REPO:extra"', 'docker push "$DOCKER_REPO:extra"'),
    });
    for (const tag of ["latest", "extra"]) {
      const event = await waitFor(`the push of ${tag}`, () => pushes.find((e) => e.target.repository === repository && e.target.tag === tag), 10_000);
      assert.equal(event.actor.name, `slipway:build:${done.id}`);
    }
    const log = (await slipway.api<string>("GET", `/builds/${done.id}/logs`)).body;
    assert.match(log, /no docker login/);
  });
});
