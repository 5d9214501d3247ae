import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { pullAndRun } from "../support/docker.js";
import { requireEnv, type Slipway } from "../support/slipway.js";

const registry = requireEnv("SLIPWAY_REGISTRY");
const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");

describe("build variables: build args, secret ones masked everywhere", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;

  before(async () => ({ git, slipway, stop } = await startEnvironment()));
  after(() => stop?.());

  /** A forge repository with a Dockerfile, linked to a new Slipway repository (default rule: main → latest). */
  async function link(dockerfile: string[]): Promise<{ name: string; path: string; image: string }> {
    const name = `vars-${randomBytes(4).toString("hex")}`;
    await git.createRepo(`acme/${name}`);
    await git.commitAndPush(`acme/${name}`, { Dockerfile: dockerfile.join("\n") + "\n" }, { message: "first commit" });
    const created = await slipway.api("POST", "/repositories", { namespace: "acme", name });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const linked = await slipway.api("PUT", `/repositories/acme/${name}/source`, {
      provider: "github",
      repository: `acme/${name}`,
      cloneUrl: git.url(`acme/${name}`),
    });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    return { name, path: `/repositories/acme/${name}`, image: created.body.image };
  }

  async function startBuild(path: string): Promise<string> {
    const started = await slipway.api("POST", `${path}/builds`, { sourceType: "branch", sourceName: "main" });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.builds[0].id;
  }

  /** The live log as Server-Sent Events, until the build ends. */
  async function followLog(buildId: string): Promise<string> {
    const res = await fetch(`${slipway.url}/api/v1/builds/${buildId}/logs?follow=1`, {
      headers: { authorization: `Bearer ${slipway.adminToken}`, accept: "text/event-stream" },
    });
    assert.equal(res.status, 200);
    return res.text();
  }

  it("passes plain and secret variables as build args; the secret never shows", async () => {
    // Lower case and a "-": it can name an image (below) and be printed in two halves.
    const secret = `sec${randomBytes(6).toString("hex")}-${randomBytes(6).toString("hex")}`;
    const [secretHead, secretTail] = secret.split("-") as [string, string];
    const plain = `plain-${randomBytes(4).toString("hex")}`;
    const repo = await link([
      `FROM ${baseImage}`,
      "ARG PLAIN_VAR",
      "ARG SECRET_VAR",
      'RUN sleep 2 && echo "plain is $PLAIN_VAR" > /plain.txt && cat /plain.txt && echo "secret is $SECRET_VAR"',
      // The secret's halves in two writes a second apart: two messages from the engine, two log writes.
      "RUN printf 'split: %s' \"${SECRET_VAR%%-*}\" && sleep 1 && printf '%s end\\n' \"-${SECRET_VAR#*-}\"",
      'CMD ["cat", "/plain.txt"]',
    ]);

    // Create, replace, and the answers.
    const putPlain = await slipway.api("PUT", `${repo.path}/variables/PLAIN_VAR`, { value: plain });
    assert.equal(putPlain.status, 201, JSON.stringify(putPlain.body));
    assert.deepEqual({ ...putPlain.body, createdAt: undefined, updatedAt: undefined }, {
      key: "PLAIN_VAR",
      value: plain,
      secret: false,
      createdAt: undefined,
      updatedAt: undefined,
    });
    const putSecret = await slipway.api("PUT", `${repo.path}/variables/SECRET_VAR`, { value: "not-yet", secret: true });
    assert.equal(putSecret.status, 201, JSON.stringify(putSecret.body));
    assert.equal(putSecret.body.value, null);
    assert.equal(putSecret.body.secret, true);
    const replaced = await slipway.api("PUT", `${repo.path}/variables/SECRET_VAR`, { value: secret, secret: true });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.value, null);
    assert.equal(replaced.body.createdAt, putSecret.body.createdAt);
    // Not declared in the Dockerfile: not passed, so the engine has nothing to warn about.
    const undeclared = await slipway.api("PUT", `${repo.path}/variables/UNDECLARED_VAR`, { value: "never-passed" });
    assert.equal(undeclared.status, 201);

    const listed = await slipway.api("GET", `${repo.path}/variables`);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.variables.map((v: any) => [v.key, v.value, v.secret]),
      [
        ["PLAIN_VAR", plain, false],
        ["SECRET_VAR", null, true],
        ["UNDECLARED_VAR", "never-passed", false],
      ],
    );
    for (const answer of [putSecret, replaced, listed]) assert.ok(!JSON.stringify(answer.body).includes(secret));

    // Build, following the log live from the start.
    const buildId = await startBuild(repo.path);
    const live = await followLog(buildId);
    const build = await slipway.waitForBuild(buildId);
    assert.equal(build.status, "success", JSON.stringify(build.error));
    assert.match(live, /event: end\ndata: \{"status":"success"\}/);

    const stored = await slipway.api<string>("GET", `/builds/${buildId}/logs`);
    assert.equal(stored.status, 200);
    for (const [what, log] of [["stored log", stored.body], ["live log", live]] as const) {
      assert.ok(!log.includes(secret), `${what} holds the secret`);
      assert.ok(!log.includes(secretHead), `${what} holds the secret's first half`);
      assert.ok(!log.includes(secretTail), `${what} holds the secret's second half`);
      assert.match(log, /secret is \*\*\*\*/, what);
      assert.match(log, new RegExp(`plain is ${plain}`), what);
      assert.doesNotMatch(log, /were not consumed|UNDECLARED_VAR|never-passed/, what);
    }
    // The halves, written apart, are masked as one; the text around them is kept.
    assert.match(stored.body, /split: \*\*\*\* end\n/);

    assert.equal((await pullAndRun(`${repo.image}:latest`)).trim(), `plain is ${plain}`);
    const answers = JSON.stringify([build, (await slipway.api("GET", `${repo.path}/builds`)).body]);
    assert.ok(!answers.includes(secret), "no build answer holds the secret");
    assert.ok(!slipway.output().includes(secret), "no process log holds the secret");
    assert.ok(!slipway.output().includes(secretTail), "no process log holds the secret's second half");

    // Deleting.
    assert.equal((await slipway.api("DELETE", `${repo.path}/variables/SECRET_VAR`)).status, 204);
    const again = await slipway.api("DELETE", `${repo.path}/variables/SECRET_VAR`);
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, "not_found");
    const left = await slipway.api("GET", `${repo.path}/variables`);
    assert.deepEqual(left.body.variables.map((v: any) => v.key), ["PLAIN_VAR", "UNDECLARED_VAR"]);
  });

  it("masks a secret the engine quotes in a failed build's error", async () => {
    const secret = `sec${randomBytes(8).toString("hex")}`;
    // The expanded arg names an image that does not exist: the engine's refusal quotes it.
    const repo = await link(["ARG SECRET_VAR", `FROM ${registry}/no-such/\${SECRET_VAR}`, "RUN true"]);
    assert.equal((await slipway.api("PUT", `${repo.path}/variables/SECRET_VAR`, { value: secret, secret: true })).status, 201);
    const build = await slipway.waitForBuild(await startBuild(repo.path));
    assert.equal(build.status, "failed");
    assert.equal(build.error.code, "dockerfile_error");
    assert.match(build.error.message, /\*\*\*\*/, "the message still says what failed, the secret masked");
    assert.ok(!JSON.stringify(build).includes(secret), "the build's error holds the secret");
    const stored = await slipway.api<string>("GET", `/builds/${build.id}/logs`);
    assert.ok(!stored.body.includes(secret), "the log holds the secret");
    assert.ok(!slipway.output().includes(secret), "no process log holds the secret");
  });

  it("refuses bad keys and values, and answers 404 for unknown repositories and variables", async () => {
    const repo = await link([`FROM ${baseImage}`]);
    const cases: [string, string, unknown, number, string][] = [
      ["a key starting with a digit", "1ABC", { value: "x" }, 422, "validation_failed"],
      ["a key with a dash", "A-B", { value: "x" }, 422, "validation_failed"],
      ["a key too long", "A".repeat(129), { value: "x" }, 422, "validation_failed"],
      ["no value", "OK_KEY", {}, 422, "validation_failed"],
      ["a value that is not a string", "OK_KEY", { value: 42 }, 422, "validation_failed"],
      ["secret not a boolean", "OK_KEY", { value: "x", secret: "yes" }, 422, "validation_failed"],
    ];
    for (const [what, key, body, status, code] of cases) {
      const answer = await slipway.api("PUT", `${repo.path}/variables/${key}`, body);
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.error.code, code, what);
    }
    const empty = await slipway.api("PUT", `${repo.path}/variables/EMPTY`, { value: "" });
    assert.equal(empty.status, 201, "an empty value is a value");
    assert.equal((await slipway.api("PUT", "/repositories/acme/no-such-repo/variables/K", { value: "x" })).status, 404);
    assert.equal((await slipway.api("GET", "/repositories/acme/no-such-repo/variables")).status, 404);
    assert.equal((await slipway.api("DELETE", `${repo.path}/variables/NOT_SET`)).status, 404);
  });
});
