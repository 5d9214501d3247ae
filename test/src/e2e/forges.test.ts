import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { forgeFor, type Provider, type PushEvent } from "@slipway/core";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { registryDigest } from "../support/docker.js";
import { loadFixture, postDelivery, sendFixture } from "../support/forges.js";
import { requireEnv, type Slipway } from "../support/slipway.js";

const registry = requireEnv("SLIPWAY_REGISTRY");
const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");

/**
 * Every forge's real-shaped push deliveries, through the HTTP endpoints, to images in the
 * registry. The first case of each forge goes to the organisation-wide `POST /hooks`, so the
 * forge is told by its headers alone; the others to the source's own hook URL.
 */
const CASES: { provider: Provider; fixture: string; orgHook: boolean }[] = [
  { provider: "gitlab", fixture: "gitlab/push.json", orgHook: true },
  { provider: "bitbucket", fixture: "bitbucket/push.json", orgHook: true },
  { provider: "bitbucket-server", fixture: "bitbucket-server/refs-changed.json", orgHook: true },
  { provider: "gitea", fixture: "gitea/push.json", orgHook: true },
  { provider: "gitlab", fixture: "gitlab/push-nested-namespace.json", orgHook: false },
  { provider: "gitlab", fixture: "gitlab/tag-push-annotated.json", orgHook: false },
  { provider: "bitbucket", fixture: "bitbucket/push-several-changes.json", orgHook: false },
  { provider: "gitea", fixture: "gitea/push-forgejo.json", orgHook: false },
  { provider: "gitea", fixture: "gitea/push-gogs.json", orgHook: false },
];

describe("every forge's push deliveries become images", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;

  before(async () => ({ git, slipway, stop } = await startEnvironment()));
  after(() => stop?.());

  for (const { provider, fixture: path, orgHook } of CASES) {
    it(`${path} at ${orgHook ? "POST /hooks" : "the source's hook URL"}`, async () => {
      const fixture = loadFixture(path);
      const forge = forgeFor(provider)!;
      const event = forge.event(Object.fromEntries(Object.entries(fixture.headers).map(([k, v]) => [k.toLowerCase(), v])))!;
      const parsed = forge.parse(event, fixture.body);
      assert.equal(parsed.kind, "push", `${path} is a push`);
      const pushes = (parsed as { pushes: PushEvent[]; repository: string }).pushes;
      const forgeRepository = (parsed as { repository: string }).repository;

      // The forge repository is served by our git server, under any name: Slipway clones the
      // source's configured URL, never one from the payload.
      const name = `f-${randomBytes(4).toString("hex")}`;
      await git.createRepo(`forges/${name}`);
      let body = JSON.stringify(fixture.body);
      for (const [index, push] of pushes.entries()) {
        const files = { Dockerfile: `FROM ${baseImage}\nCMD ["echo", "${provider} ${index}"]\n` };
        const options = push.sourceType === "branch" ? { branch: push.sourceName } : { tag: push.sourceName, annotated: true };
        const { commit } = await git.commitAndPush(`forges/${name}`, files, options);
        body = body.replaceAll(push.commit, commit);
      }

      assert.equal((await slipway.api("POST", "/repositories", { namespace: "forges", name })).status, 201);
      const linked = await slipway.api("PUT", `/repositories/forges/${name}/source`, {
        provider,
        repository: forgeRepository,
        cloneUrl: git.url(`forges/${name}`),
      });
      assert.equal(linked.status, 201, JSON.stringify(linked.body));
      const rules = await slipway.api("GET", `/repositories/forges/${name}/rules`);
      await slipway.api("DELETE", `/repositories/forges/${name}/rules/${rules.body.rules[0].id}`);
      for (const [index, push] of pushes.entries()) {
        const rule = await slipway.api("POST", `/repositories/forges/${name}/rules`, {
          sourceType: push.sourceType,
          sourceName: push.sourceName,
          dockerTag: `p${index}`,
        });
        assert.equal(rule.status, 201, JSON.stringify(rule.body));
      }

      const url = orgHook ? `${slipway.url}/hooks` : linked.body.webhookUrl;
      const answer = await sendFixture(url, provider, fixture, body, { secret: linked.body.secret });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assert.equal(answer.body.builds.length, pushes.length);
      for (const queued of answer.body.builds) {
        const build = await slipway.waitForBuild(queued.id);
        assert.equal(build.status, "success", JSON.stringify(build.error));
        assert.equal(await registryDigest(registry, `forges/${name}`, build.tags[0]), build.digest);
      }
      // The forge's redelivery (the same delivery identity) answers with the same builds.
      const again = await postDelivery(url, answer.headers, body);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.deepEqual(again.body.builds.map((b: any) => b.id), answer.body.builds.map((b: any) => b.id));
      const deliveries = await slipway.api("GET", `/deliveries?source=${linked.body.id}`);
      assert.deepEqual(deliveries.body.deliveries.map((d: any) => [d.provider, d.outcome]), [[provider, "duplicate"], [provider, "queued"]]);
      assert.ok(deliveries.body.deliveries[1].deliveryId, "the forge's delivery id is recorded");
    });
  }

  it("takes form-encoded deliveries (a payload field), signed as each forge signs them", async () => {
    for (const provider of ["github", "gitea"] as const) {
      const name = `form-${provider}-${randomBytes(3).toString("hex")}`;
      await git.createRepo(`forges/${name}`);
      const { commit } = await git.commitAndPush(`forges/${name}`, { Dockerfile: `FROM ${baseImage}\nCMD ["echo", "form"]\n` });
      await slipway.api("POST", "/repositories", { namespace: "forges", name });
      const linked = await slipway.api("PUT", `/repositories/forges/${name}/source`, {
        provider,
        repository: `forges/${name}`,
        cloneUrl: git.url(`forges/${name}`),
      });
      const json = JSON.stringify({
        ref: "refs/heads/main",
        before: "0".repeat(40),
        after: commit,
        repository: { full_name: `forges/${name}` },
        head_commit: { id: commit, message: "form" },
        commits: [{ id: commit, message: "form" }],
        pusher: { name: "someone" },
      });
      const body = new URLSearchParams({ payload: json }).toString();
      // GitHub signs the bytes it sends; Gitea signs the JSON inside the form field.
      const signed = createHmac("sha256", linked.body.secret).update(provider === "github" ? body : json).digest("hex");
      const headers: Record<string, string> =
        provider === "github"
          ? { "x-github-event": "push", "x-github-delivery": randomUUID(), "x-hub-signature-256": `sha256=${signed}` }
          : { "x-gitea-event": "push", "x-gitea-delivery": randomUUID(), "x-gitea-signature": signed };
      const answer = await postDelivery(linked.body.webhookUrl, { ...headers, "content-type": "application/x-www-form-urlencoded" }, body);
      assert.equal(answer.status, 202, `${provider}: ${JSON.stringify(answer.body)}`);
      assert.equal((await slipway.waitForBuild(answer.body.builds[0].id)).status, "success");
    }
  });

  it("answers each forge's deletions and pings with 200 and builds nothing", async () => {
    const cases: [Provider, string][] = [
      ["gitlab", "gitlab/branch-delete.json"],
      ["gitlab", "gitlab/tag-delete.json"],
      ["bitbucket", "bitbucket/push-branch-deleted.json"],
      ["bitbucket-server", "bitbucket-server/refs-changed-delete.json"],
      ["bitbucket-server", "bitbucket-server/diagnostics-ping.json"],
      ["gitea", "gitea/delete-branch.json"],
      ["gitea", "gitea/push-branch-deleted.json"],
      ["gitea", "gitea/create-tag.json"],
    ];
    const name = `quiet-${randomBytes(4).toString("hex")}`;
    await git.createRepo(`forges/${name}`);
    assert.equal((await slipway.api("POST", "/repositories", { namespace: "forges", name })).status, 201);
    for (const [provider, path] of cases) {
      const fixture = loadFixture(path);
      const linked = await slipway.api("PUT", `/repositories/forges/${name}/source`, {
        provider,
        repository: "any/thing",
        cloneUrl: git.url(`forges/${name}`),
      });
      // Bitbucket Server's connection test comes unsigned.
      const secret = path.endsWith("diagnostics-ping.json") ? undefined : linked.body.secret;
      const answer = await sendFixture(linked.body.webhookUrl, provider, fixture, JSON.stringify(fixture.body), secret ? { secret } : {});
      assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
      assert.deepEqual(answer.body.builds, [], path);
      assert.ok(answer.body.ignored, path);
    }
    const builds = await slipway.api("GET", `/repositories/forges/${name}/builds`);
    assert.equal(builds.body.builds.length, 0);
  });
});
