import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { FileContent, GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { pullAndRun, registryDigest, testDocker } from "../support/docker.js";
import { githubPushPayload, sendGithubDelivery } from "../support/github.js";
import { freePort, requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const registry = requireEnv("SLIPWAY_REGISTRY");
const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
const USER = { name: "builder", password: `pw-${randomBytes(6).toString("hex")}` };

interface Linked {
  namespace: string;
  name: string;
  forgeName: string;
  sourceId: string;
  secret: string;
  webhookUrl: string;
  image: string;
}

describe("the spine: a signed GitHub push becomes an image in the registry", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;

  before(async () => ({ git, slipway, stop } = await startEnvironment({ users: { [USER.name]: USER.password }, slipway: { env: { SLIPWAY_JOB_LOCK_MS: "3000", SLIPWAY_PUSH_ATTEMPTS: "3" } } })));
  after(() => stop?.());

  /** A forge repository with a first commit, linked to a new Slipway repository. */
  async function link(
    files: Record<string, FileContent>,
    options: { private?: boolean; credentials?: boolean; registry?: { url: string; username?: string; password?: string } } = {},
  ): Promise<Linked & { commit: string }> {
    const name = `app-${randomBytes(4).toString("hex")}`;
    const forgeName = `acme/${name}`;
    await git.createRepo(forgeName, { private: options.private ?? false });
    const { commit } = await git.commitAndPush(forgeName, files, { message: "first commit" });
    const created = await slipway.api("POST", "/repositories", {
      namespace: "acme",
      name,
      ...(options.registry ? { registry: options.registry } : {}),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const linked = await slipway.api("PUT", `/repositories/acme/${name}/source`, {
      provider: "github",
      repository: forgeName,
      cloneUrl: git.url(forgeName),
      ...(options.credentials ? { credentials: { username: USER.name, password: USER.password } } : {}),
    });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    return {
      namespace: "acme",
      name,
      forgeName,
      sourceId: linked.body.id,
      secret: linked.body.secret,
      webhookUrl: linked.body.webhookUrl,
      image: created.body.image,
      commit,
    };
  }

  function push(repo: Linked, commit: string, ref = "refs/heads/main", extra: Parameters<typeof sendGithubDelivery>[2] = {}) {
    const payload = githubPushPayload({ repository: repo.forgeName, ref, after: commit, cloneUrl: git.url(repo.forgeName), message: "first commit" });
    return sendGithubDelivery(repo.webhookUrl, payload, { secret: repo.secret, ...extra });
  }

  async function pushAndWait(repo: Linked, commit: string) {
    const answer = await push(repo, commit);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.equal(answer.body.builds.length, 1);
    return slipway.waitForBuild(answer.body.builds[0].id);
  }

  function dockerfile(lines: string[]): string {
    return [`FROM ${baseImage}`, ...lines].join("\n") + "\n";
  }

  it("builds, tags, pushes and records a pushed commit; the image runs", async () => {
    const repo = await link({
      Dockerfile: dockerfile([
        "ARG SOURCE_COMMIT",
        "ARG DOCKER_TAG",
        'RUN echo "built $SOURCE_COMMIT as $DOCKER_TAG" > /hello.txt && cat /hello.txt',
        'CMD ["cat", "/hello.txt"]',
      ]),
    });
    assert.equal(repo.webhookUrl, `${slipway.url}/hooks/${repo.sourceId}`);
    const rules = await slipway.api("GET", `/repositories/acme/${repo.name}/rules`);
    assert.deepEqual(
      rules.body.rules.map((r: any) => [r.sourceType, r.sourceName, r.dockerTag, r.dockerfile, r.autobuild]),
      [["branch", "main", "latest", "Dockerfile", true]],
    );

    const answer = await push(repo, repo.commit);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.ok(answer.body.delivery);
    const [queued] = answer.body.builds;
    assert.deepEqual(
      { sourceType: queued.sourceType, sourceName: queued.sourceName, commit: queued.commit, tags: queued.tags },
      { sourceType: "branch", sourceName: "main", commit: repo.commit, tags: ["latest"] },
    );

    const build = await slipway.waitForBuild(queued.id);
    assert.equal(build.status, "success", JSON.stringify(build.error));
    assert.match(build.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(build.commit, repo.commit);
    assert.equal(build.commitMessage.trim(), "first commit");
    assert.equal(build.image, `${registry}/acme/${repo.name}`);
    assert.deepEqual(build.cause, { type: "push", delivery: answer.body.delivery });
    assert.ok(Date.parse(build.queuedAt) <= Date.parse(build.startedAt));
    assert.ok(Date.parse(build.startedAt) <= Date.parse(build.finishedAt));
    assert.deepEqual(
      build.timeline.map((t: any) => t.status),
      ["queued", "cloning", "building", "pushing", "success"],
    );

    assert.equal(await registryDigest(registry, `acme/${repo.name}`, "latest"), build.digest);
    assert.equal((await pullAndRun(`${build.image}:latest`)).trim(), `built ${repo.commit} as latest`);

    const logs = await slipway.api<string>("GET", `/builds/${build.id}/logs`);
    assert.equal(logs.status, 200);
    assert.match(logs.body, /Cloning http:\/\/127\.0\.0\.1:\d+\/acme\/app-[0-9a-f]+\.git/);
    assert.match(logs.body, new RegExp(`built ${repo.commit} as latest`));
    assert.match(logs.body, /Pushed .*sha256:/);

    const list = await slipway.api("GET", `/repositories/acme/${repo.name}/builds`);
    assert.deepEqual(list.body.builds.map((b: any) => [b.id, b.status]), [[build.id, "success"]]);
    assert.equal(list.body.nextCursor, null);

    const deliveries = await slipway.api("GET", `/deliveries?source=${repo.sourceId}`);
    assert.deepEqual(
      deliveries.body.deliveries.map((d: any) => [d.id, d.provider, d.event, d.outcome, d.builds]),
      [[answer.body.delivery, "github", "push", "queued", [build.id]]],
    );
  });

  it("serves its dashboard, health endpoints and metrics", async () => {
    const page = await fetch(`${slipway.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Slipway<\/title>/);
    const script = await fetch(`${slipway.url}/ui/app.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
    assert.equal((await fetch(`${slipway.url}/healthz`)).status, 200);
    const ready = await fetch(`${slipway.url}/readyz`);
    assert.deepEqual(await ready.json(), { status: "ok", checks: { database: "ok", redis: "ok", docker: "ok" } });
    // The first test's build and delivery are counted.
    const metrics = await (await fetch(`${slipway.url}/metrics`)).text();
    assert.match(metrics, /^slipway_builds\{status="success"\} 1$/m);
    assert.match(metrics, /^slipway_deliveries_total\{provider="github",outcome="queued"\} 1$/m);
    assert.match(metrics, /^slipway_http_request_duration_seconds_count\{method="POST",route="\/hooks\/:sourceId",status="202"\} 1$/m);
    // Anonymous callers see public repositories only, and who they are is nobody.
    const unauthenticated = await fetch(`${slipway.url}/api/v1/users/me`);
    assert.equal(unauthenticated.status, 401);
    assert.equal(((await unauthenticated.json()) as any).error.code, "unauthorized");
    const wrongToken = await fetch(`${slipway.url}/api/v1/repositories`, { headers: { authorization: "Bearer not-a-token" } });
    assert.equal(wrongToken.status, 401);
  });

  it("answers a redelivery with the first delivery's builds and starts none", async () => {
    const repo = await link({ Dockerfile: dockerfile(["RUN true"]) });
    const first = await push(repo, repo.commit, "refs/heads/main", { deliveryId: "redelivered-guid" });
    assert.equal(first.status, 202);
    const again = await push(repo, repo.commit, "refs/heads/main", { deliveryId: "redelivered-guid" });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.builds.map((b: any) => b.id), first.body.builds.map((b: any) => b.id));
    assert.match(again.body.ignored, /redelivery/);
    assert.notEqual(again.body.delivery, first.body.delivery);
    await slipway.waitForBuild(first.body.builds[0].id);
    const list = await slipway.api("GET", `/repositories/acme/${repo.name}/builds`);
    assert.equal(list.body.builds.length, 1);
    const deliveries = await slipway.api("GET", `/deliveries?source=${repo.sourceId}`);
    assert.deepEqual(deliveries.body.deliveries.map((d: any) => d.outcome), ["duplicate", "queued"]);
  });

  it("refuses bad signatures and unknown sources, records them, and builds nothing", async () => {
    const repo = await link({ Dockerfile: dockerfile(["RUN true"]) });
    const cases: [string, Parameters<typeof sendGithubDelivery>[2], number, string][] = [
      ["wrong secret", { secret: "not-the-secret" }, 401, "invalid_signature"],
      ["missing signature", { signature: null }, 401, "invalid_signature"],
      ["empty signature", { signature: "" }, 401, "invalid_signature"],
      ["no event header", { secret: repo.secret, event: "" }, 400, "missing_event"],
    ];
    for (const [what, options, status, code] of cases) {
      const answer = await push(repo, repo.commit, "refs/heads/main", options);
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, code, what);
      assert.ok(answer.body.delivery, `${what}: the answer names the recorded delivery`);
    }
    const unknown = await sendGithubDelivery(`${slipway.url}/hooks/no-such-source`, {}, { secret: "x" });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "not_found");

    const list = await slipway.api("GET", `/repositories/acme/${repo.name}/builds`);
    assert.equal(list.body.builds.length, 0);
    const deliveries = await slipway.api("GET", `/deliveries?source=${repo.sourceId}`);
    assert.deepEqual(deliveries.body.deliveries.map((d: any) => d.outcome), ["rejected", "rejected", "rejected", "rejected"]);
    const body = JSON.stringify(deliveries.body);
    assert.ok(!body.includes(repo.secret), "no answer holds the secret");
  });

  it("clones a private repository with the source's credentials, and fails clearly without them", async () => {
    const files = { Dockerfile: dockerfile(['CMD ["echo", "private"]']) };
    const withCreds = await link(files, { private: true, credentials: true });
    const ok = await pushAndWait(withCreds, withCreds.commit);
    assert.equal(ok.status, "success", JSON.stringify(ok.error));

    const without = await link(files, { private: true });
    const failed = await pushAndWait(without, without.commit);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error.code, "clone_failed");
    assert.match(failed.error.message, /authentication|credentials/i);
    const logs = await slipway.api<string>("GET", `/builds/${ok.id}/logs`);
    assert.ok(!logs.body.includes(USER.password), "the build log never holds the password");
    assert.ok(!slipway.output().includes(USER.password), "no process log holds the password");
  });

  it("fails with commit_not_found when the pushed commit is not in the repository", async () => {
    const repo = await link({ Dockerfile: dockerfile(["RUN true"]) });
    const build = await pushAndWait(repo, "0123456789abcdef0123456789abcdef01234567");
    assert.equal(build.status, "failed");
    assert.equal(build.error.code, "commit_not_found");
  });

  it("fails with dockerfile_not_found when the rule's Dockerfile is missing", async () => {
    const repo = await link({ "README.md": "no Dockerfile here\n" });
    const build = await pushAndWait(repo, repo.commit);
    assert.equal(build.status, "failed");
    assert.equal(build.error.code, "dockerfile_not_found");
    assert.match(build.error.message, /Dockerfile/);
  });

  it("fails with dockerfile_error on a failing step, and keeps the log", async () => {
    const repo = await link({ Dockerfile: dockerfile(['RUN echo "about to fail" && exit 3']) });
    const build = await pushAndWait(repo, repo.commit);
    assert.equal(build.status, "failed");
    assert.equal(build.error.code, "dockerfile_error");
    const logs = await slipway.api<string>("GET", `/builds/${build.id}/logs`);
    assert.match(logs.body, /about to fail/);
  });

  it("refuses a Dockerfile path that leads out of the clone", async () => {
    const repo = await link({ Dockerfile: dockerfile(["RUN true"]) });
    const rules = await slipway.api("GET", `/repositories/acme/${repo.name}/rules`);
    const patched = await slipway.api("PATCH", `/repositories/acme/${repo.name}/rules/${rules.body.rules[0].id}`, { dockerfile: "../../etc/passwd" });
    assert.equal(patched.status, 422, "the API refuses it when the rule is saved");
    assert.equal(patched.body.error.code, "validation_failed");
  });

  it("retries a registry that is down, then fails with registry_unavailable", async () => {
    const dead = await freePort();
    const repo = await link({ Dockerfile: dockerfile(["RUN true"]) }, { registry: { url: `127.0.0.1:${dead}` } });
    const build = await pushAndWait(repo, repo.commit);
    assert.equal(build.status, "failed");
    assert.equal(build.error.code, "registry_unavailable");
    const logs = await slipway.api<string>("GET", `/builds/${build.id}/logs`);
    assert.equal((logs.body.match(/Push attempt \d failed/g) ?? []).length, 2, logs.body);
  });

  it("fails with registry_refused when the registry denies the push, without retrying", async () => {
    const refusing: Server = createServer((_req, res) => {
      res.writeHead(401, { "www-authenticate": 'Basic realm="slipway-test"', "docker-distribution-api-version": "registry/2.0" });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    });
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    const port = (refusing.address() as { port: number }).port;
    try {
      const repo = await link(
        { Dockerfile: dockerfile(["RUN true"]) },
        { registry: { url: `127.0.0.1:${port}`, username: "someone", password: "registry-password-123" } },
      );
      const build = await pushAndWait(repo, repo.commit);
      assert.equal(build.status, "failed");
      assert.equal(build.error.code, "registry_refused");
      const logs = await slipway.api<string>("GET", `/builds/${build.id}/logs`);
      assert.doesNotMatch(logs.body, /Push attempt/);
      assert.ok(!logs.body.includes("registry-password-123"));
      assert.ok(!slipway.output().includes("registry-password-123"));
    } finally {
      refusing.close();
    }
  });

  it("streams the log live while the build runs (follow)", async () => {
    // A nonce in the step keeps the engine's layer cache from answering at once.
    const repo = await link({ Dockerfile: dockerfile([`RUN echo "step one ${randomBytes(4).toString("hex")}" && sleep 2 && echo "step two"`]) });
    const answer = await push(repo, repo.commit);
    const id = answer.body.builds[0].id;
    const res = await fetch(`${slipway.url}/api/v1/builds/${id}/logs?follow=1`, {
      headers: { authorization: `Bearer ${slipway.adminToken}`, accept: "text/event-stream" },
    });
    assert.equal(res.headers.get("content-type")?.split(";")[0], "text/event-stream");
    const text = await res.text();
    assert.match(text, /event: log/);
    assert.match(text, /step one/);
    assert.match(text, /step two/);
    assert.match(text, /event: end\ndata: \{"status":"success"\}/);
  });

  it("cancels a running build and stops its container", async () => {
    const repo = await link({ Dockerfile: dockerfile(['RUN echo "sleeping" && sleep 60']) });
    const answer = await push(repo, repo.commit);
    const id = answer.body.builds[0].id;
    await slipway.waitForStatus(id, "building");
    await waitFor("the RUN step to start", async () => {
      const logs = await slipway.api<string>("GET", `/builds/${id}/logs`);
      return logs.body.includes("sleeping") ? true : undefined;
    });
    const canceled = await slipway.api("POST", `/builds/${id}/cancel`);
    assert.equal(canceled.status, 202, JSON.stringify(canceled.body));
    assert.equal(canceled.body.status, "canceled");
    const docker = testDocker();
    await waitFor(
      "the build container to stop",
      async () => {
        const running = await docker.listContainers();
        return running.some((c) => c.Command.includes("sleep 60")) ? undefined : true;
      },
      20_000,
      200,
    );
    const again = await slipway.api("POST", `/builds/${id}/cancel`);
    assert.equal(again.status, 409);
  });

  it("builds a branch's head by hand, and retries a build as a new one", async () => {
    const repo = await link({ Dockerfile: dockerfile(['CMD ["echo", "by hand"]']) });
    const { commit: head } = await git.commitAndPush(repo.forgeName, { "notes.txt": "second\n" }, { message: "second commit" });
    const started = await slipway.api("POST", `/repositories/acme/${repo.name}/builds`, { sourceType: "branch", sourceName: "main" });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const [queued] = started.body.builds;
    assert.equal(queued.commit, "", "a build by hand takes the head as the worker finds it");
    const built = await slipway.waitForBuild(queued.id);
    assert.equal(built.status, "success", JSON.stringify(built.error));
    assert.equal(built.commit, head);
    assert.equal(built.commitMessage.trim(), "second commit");
    assert.deepEqual(built.cause, { type: "manual" });

    const busy = await slipway.api("POST", `/builds/${built.id}/retry`);
    assert.equal(busy.status, 202, JSON.stringify(busy.body));
    assert.notEqual(busy.body.id, built.id);
    assert.deepEqual(busy.body.cause, { type: "retry", retryOf: built.id });
    const retried = await slipway.waitForBuild(busy.body.id);
    assert.equal(retried.status, "success");
    assert.equal(retried.commit, head);

    const none = await slipway.api("POST", `/repositories/acme/${repo.name}/builds`, { sourceType: "branch", sourceName: "nope" });
    assert.equal(none.status, 422);
    assert.equal(none.body.error.code, "validation_failed");
  });

  it("never lets an older commit move a tag a newer commit's build pushed", async () => {
    const repo = await link({ Dockerfile: dockerfile(['CMD ["echo", "older"]']) });
    const older = repo.commit;
    // Commit times have a resolution of a second: the newer commit is made in a later one.
    await new Promise((r) => setTimeout(r, 1_100));
    const { commit: newer } = await git.commitAndPush(repo.forgeName, { Dockerfile: dockerfile(['CMD ["echo", "newer"]']) }, { message: "newer" });
    // The forge's deliveries arrive out of order: the newer push first.
    const first = await pushAndWait(repo, newer);
    assert.equal(first.status, "success");
    const late = await pushAndWait(repo, older);
    assert.equal(late.status, "superseded", JSON.stringify(late));
    assert.deepEqual(late.tags, ["latest"], "a superseded build keeps the tags it was planned to push");
    assert.equal(await registryDigest(registry, `acme/${repo.name}`, "latest"), first.digest);
    assert.equal((await pullAndRun(`${repo.image}:latest`)).trim(), "newer");
  });

  it("pushes each build's own image when builds of one tag run at once", async () => {
    const slow = dockerfile([`RUN echo "slow ${randomBytes(4).toString("hex")}" && sleep 2`, 'CMD ["echo", "older"]']);
    const repo = await link({ Dockerfile: slow });
    await new Promise((r) => setTimeout(r, 1_100));
    const { commit: newer } = await git.commitAndPush(repo.forgeName, { Dockerfile: dockerfile(['CMD ["echo", "newer"]']) }, { message: "newer" });
    const first = await push(repo, repo.commit, "refs/heads/main", { deliveryId: `older-${repo.name}` });
    const second = await push(repo, newer, "refs/heads/main", { deliveryId: `newer-${repo.name}` });
    const [olderBuild, newerBuild] = await Promise.all([
      slipway.waitForBuild(first.body.builds[0].id),
      slipway.waitForBuild(second.body.builds[0].id),
    ]);
    assert.equal(newerBuild.status, "success");
    assert.equal(olderBuild.status, "superseded", "the older commit, finishing last, leaves latest alone");
    assert.equal(await registryDigest(registry, `acme/${repo.name}`, "latest"), newerBuild.digest);
    assert.equal((await pullAndRun(`${repo.image}:latest`)).trim(), "newer");
  });

  it("takes organisation-wide deliveries at POST /hooks, by repository name", async () => {
    const repo = await link({ Dockerfile: dockerfile(['CMD ["echo", "org"]']) });
    const payload = githubPushPayload({ repository: repo.forgeName, ref: "refs/heads/main", after: repo.commit, cloneUrl: git.url(repo.forgeName) });
    const accepted = await sendGithubDelivery(`${slipway.url}/hooks`, payload, { secret: repo.secret });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal((await slipway.waitForBuild(accepted.body.builds[0].id)).status, "success");

    const wrong = await sendGithubDelivery(`${slipway.url}/hooks`, payload, { secret: "not-it" });
    assert.equal(wrong.status, 401);
    const unknown = await sendGithubDelivery(
      `${slipway.url}/hooks`,
      githubPushPayload({ repository: "acme/not-linked", ref: "refs/heads/main", after: repo.commit, cloneUrl: "http://x/y.git" }),
      { secret: repo.secret },
    );
    assert.equal(unknown.status, 404);
    // An organisation hook's ping names no repository; it is answered, and builds nothing.
    const ping = await sendGithubDelivery(`${slipway.url}/hooks`, { zen: "Keep it logically awesome.", hook_id: 1, organization: { login: "acme" } }, { event: "ping", secret: "any" });
    assert.equal(ping.status, 200, JSON.stringify(ping.body));
    assert.equal(ping.body.ignored, "ping");
  });

  it("picks a build up again when its worker is killed mid-build", async () => {
    const repo = await link({ Dockerfile: dockerfile([`RUN echo "working ${randomBytes(4).toString("hex")}" && sleep 3`, 'CMD ["echo", "survived"]']) });
    const answer = await push(repo, repo.commit);
    const id = answer.body.builds[0].id;
    await slipway.waitForStatus(id, "building");
    await slipway.killWorker();
    await slipway.startWorker();
    const build = await slipway.waitForBuild(id, 120_000);
    assert.equal(build.status, "success", JSON.stringify(build.error));
    const logs = await slipway.api<string>("GET", `/builds/${id}/logs`);
    assert.match(logs.body, /Picked up again/);
    assert.equal((await pullAndRun(`${build.image}:latest`)).trim(), "survived");
  });
});
