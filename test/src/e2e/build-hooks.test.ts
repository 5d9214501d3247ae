import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FileContent, GitServer } from "../git-server.js";
import type Dockerode from "dockerode";
import { pullAndRun, registryDigest, testDocker } from "../support/docker.js";
import { startEnvironment } from "../support/environment.js";
import { requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const registry = requireEnv("SLIPWAY_REGISTRY");
const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
const redisPort = new URL(requireEnv("REDIS_URL")).port;

/** An executable hook, as Docker Hub users write them. */
const hook = (...lines: string[]): FileContent => ({ content: ["#!/bin/bash", ...lines, ""].join("\n"), mode: 0o755 });

describe("build hooks: Docker Hub's hooks/ contract, sandboxed", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;

  before(async () => ({ git, slipway, stop } = await startEnvironment()));
  after(() => stop?.());

  /** A forge repository with these files, linked to a new Slipway repository (main → latest), built once. */
  async function build(
    files: Record<string, FileContent>,
    variables: Record<string, { value: string; secret?: boolean }> = {},
    rule: Record<string, string> = {},
    /** Runs beside the build, from when it is queued. */
    during?: (buildId: string) => Promise<void>,
  ) {
    const name = `hooks-${randomBytes(4).toString("hex")}`;
    await git.createRepo(`acme/${name}`);
    const { commit } = await git.commitAndPush(`acme/${name}`, files, { message: "with hooks" });
    const created = await slipway.api("POST", "/repositories", { namespace: "acme", name });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const path = `/repositories/acme/${name}`;
    const linked = await slipway.api("PUT", `${path}/source`, { provider: "github", repository: `acme/${name}`, cloneUrl: git.url(`acme/${name}`) });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    if (Object.keys(rule).length > 0) {
      const [first] = (await slipway.api("GET", `${path}/rules`)).body.rules;
      assert.equal((await slipway.api("PATCH", `${path}/rules/${first.id}`, rule)).status, 200);
    }
    for (const [key, variable] of Object.entries(variables)) {
      assert.equal((await slipway.api("PUT", `${path}/variables/${key}`, variable)).status, 201);
    }
    const started = await slipway.api("POST", `${path}/builds`, { sourceType: "branch", sourceName: "main" });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const [done] = await Promise.all([slipway.waitForBuild(started.body.builds[0].id), during?.(started.body.builds[0].id)]);
    const log = await slipway.api<string>("GET", `/builds/${done.id}/logs`);
    assert.equal(log.status, 200);
    return { build: done, log: log.body, image: created.body.image as string, repository: `acme/${name}`, commit };
  }

  it("runs each hook in order with Docker Hub's variables, a docker CLI and the clone; what they write, the build sees", async () => {
    const secret = `hooksecret${randomBytes(6).toString("hex")}`;
    const { build: done, log, image, repository, commit } = await build(
      {
        Dockerfile: [`FROM ${baseImage}`, "COPY generated.txt /generated.txt", 'CMD ["cat", "/generated.txt"]', ""].join("\n"),
        "hooks/post_checkout": hook(
          'echo "post_checkout in $(pwd) at $(git rev-parse HEAD)"',
          'echo "generated on $SOURCE_BRANCH" > generated.txt',
        ),
        "hooks/pre_build": hook('echo "pre_build: $IMAGE_NAME $DOCKER_REPO $DOCKER_TAG $DOCKERFILE_PATH $COMMIT_MSG"', 'echo "variables: $PLAIN_VAR $SECRET_VAR"'),
        "hooks/post_build": hook('echo "post_build ran: $(docker run --rm "$IMAGE_NAME")"'),
        "hooks/pre_push": hook('echo "pre_push: $(docker image inspect -f "{{.Id}}" "$IMAGE_NAME")"'),
        "hooks/post_push": hook('docker tag "$IMAGE_NAME" "$DOCKER_REPO:$SOURCE_COMMIT"', 'docker push "$DOCKER_REPO:$SOURCE_COMMIT"', 'echo "post_push done"'),
      },
      { PLAIN_VAR: { value: "plain-value" }, SECRET_VAR: { value: secret, secret: true } },
    );
    assert.equal(done.status, "success", JSON.stringify(done.error));
    const order = ["post_checkout", "pre_build", "post_build", "pre_push", "post_push"].map((name) => log.indexOf(`Running hooks/${name}`));
    assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `hooks out of order:\n${log}`);
    assert.match(log, new RegExp(`post_checkout in /workspace at ${commit}`));
    assert.match(log, new RegExp(`pre_build: ${image}:latest ${image} latest Dockerfile with hooks`));
    assert.match(log, /variables: plain-value \*\*\*\*/);
    assert.ok(!log.includes(secret), "the log holds the secret variable");
    assert.match(log, /post_build ran: generated on main/);
    assert.match(log, /pre_push: sha256:[0-9a-f]{64}/);
    assert.match(log, /post_push done/);
    // The image the build pushed holds the file the hook wrote; post_push pushed one more tag.
    assert.equal((await pullAndRun(`${image}:latest`)).trim(), "generated on main");
    assert.equal(await registryDigest(registry, repository, commit), done.digest);
  });

  it("fails the build naming the hook that failed, with its output in the log", async () => {
    const { build: done, log, repository } = await build({
      Dockerfile: `FROM ${baseImage}\n`,
      "hooks/pre_build": hook("echo about to fail >&2", "exit 3"),
    });
    assert.equal(done.status, "failed");
    assert.equal(done.error?.code, "hook_failed");
    assert.match(done.error?.message ?? "", /hooks\/pre_build failed with exit code 3/);
    assert.match(log, /about to fail/);
    assert.equal(await registryDigest(registry, repository, "latest"), null);
  });

  it("lets hooks/build replace the build and hooks/push replace the push", async () => {
    const { build: done, log, image, repository } = await build({
      Dockerfile: [`FROM ${baseImage}`, "ARG CUSTOM=unset", "RUN echo \"$CUSTOM\" > /custom", 'CMD ["cat", "/custom"]', ""].join("\n"),
      "hooks/build": hook('docker build --build-arg CUSTOM=from-the-hook -f "$DOCKERFILE_PATH" -t "$IMAGE_NAME" .'),
      "hooks/push": hook('echo "pushing by hand"', 'docker push "$IMAGE_NAME"'),
    });
    assert.equal(done.status, "success", JSON.stringify(done.error));
    assert.doesNotMatch(log, /Building Dockerfile/);
    assert.match(log, /pushing by hand/);
    assert.deepEqual(done.tags, ["latest"]);
    assert.equal(await registryDigest(registry, repository, "latest"), done.digest);
    assert.equal((await pullAndRun(`${image}:latest`)).trim(), "from-the-hook");
  });

  it("keeps hooks in their sandbox: no host mounts, privileges, host network, other images or containers", async () => {
    const attempt = (what: string, command: string) => `if ${command} >/dev/null 2>/tmp/err; then echo "ESCAPED: ${what}"; else echo "refused ${what}: $(cat /tmp/err)"; fi`;
    const { build: done, log } = await build({
      Dockerfile: `FROM ${baseImage}\n`,
      "hooks/post_build": hook(
        attempt("bind", 'docker run --rm -v /:/host "$IMAGE_NAME" true'),
        attempt("privileged", 'docker run --rm --privileged "$IMAGE_NAME" true'),
        attempt("host-network", 'docker run --rm --network host "$IMAGE_NAME" true'),
        attempt("pid-host", 'docker run --rm --pid host "$IMAGE_NAME" true'),
        attempt("tag-other", 'docker tag "$IMAGE_NAME" 127.0.0.1:1/other/victim:latest'),
        attempt("push-other", "docker push 127.0.0.1:1/other/victim:latest"),
        attempt("list-containers", "docker ps -a"),
        attempt("build-host-network", "docker build --network host -t \"$IMAGE_NAME\" ."),
        attempt("volumes", "docker volume ls"),
        attempt("redis", `echo PING | timeout 3 nc 127.0.0.1 ${redisPort} | grep -q PONG`),
        'own=$(docker run -d "$IMAGE_NAME" sleep 30)',
        attempt("privileged-exec", 'docker exec --privileged "$own" true'),
        'echo "exec: $(docker exec "$own" echo in-own-container)"',
        'echo "allowed: $(docker run --rm "$IMAGE_NAME" echo inside)"',
      ),
    });
    assert.equal(done.status, "success", JSON.stringify(done.error));
    assert.doesNotMatch(log, /ESCAPED/, log);
    for (const what of ["bind", "privileged", "host-network", "pid-host", "tag-other", "push-other", "list-containers", "build-host-network", "volumes", "redis", "privileged-exec"]) {
      assert.match(log, new RegExp(`refused ${what}`), `no refusal of ${what} in:\n${log}`);
    }
    assert.match(log, /refused bind: .*Slipway build hooks: HostConfig\.Binds is not allowed/);
    assert.match(log, /refused push-other: .*hooks push to .* only/);
    assert.match(log, /allowed: inside/);
    assert.match(log, /exec: in-own-container/);
  });

  it("uses a container by the name it gave, and a name it let go never reaches the container that takes it next", async () => {
    const name = `hook-helper-${randomBytes(4).toString("hex")}`;
    let taken: Dockerode.Container | undefined;
    try {
      const { build: done, log } = await build(
        {
          Dockerfile: `FROM ${baseImage}\n`,
          "hooks/post_build": hook(
            `docker run -d --name ${name} "$IMAGE_NAME" sleep 30 >/dev/null`,
            `echo "by name: $(docker exec ${name} echo named)"`,
            `docker rm -f ${name} >/dev/null && echo "let go of the name"`,
            // Another build's container takes the name meanwhile (the test makes it).
            `for i in $(seq 1 12); do if docker exec ${name} true >/dev/null 2>&1; then echo "REACHED ANOTHER CONTAINER"; break; fi; sleep 0.5; done`,
            'echo "done trying"',
          ),
        },
        {},
        {},
        async (buildId) => {
          const logSoFar = async () => (await slipway.api<string>("GET", `/builds/${buildId}/logs`)).body;
          await waitFor("the hook to let go of the name", async () => ((await logSoFar()).includes("let go of the name") ? true : undefined), 60_000, 100);
          taken = await testDocker().createContainer({ name, Image: baseImage, Cmd: ["sleep", "60"], HostConfig: { NetworkMode: "none" } });
          await taken.start();
        },
      );
      assert.equal(done.status, "success", JSON.stringify(done.error));
      assert.match(log, /by name: named/);
      assert.match(log, /done trying/);
      assert.doesNotMatch(log, /REACHED ANOTHER CONTAINER/);
      assert.equal((await taken!.inspect()).State.Running, true, "the other container was left alone");
    } finally {
      await taken?.remove({ force: true });
    }
  });

  it("refuses a build context that a hook moved out of the clone", async () => {
    const { build: done } = await build(
      {
        "app/Dockerfile": `FROM ${baseImage}\nCOPY . /context\n`,
        "app/hooks/pre_build": hook("cd /workspace && mv app app-real && ln -s /etc app && mkdir -p app-real && echo moved"),
      },
      {},
      { context: "app" },
    );
    assert.equal(done.status, "failed");
    assert.equal(done.error?.code, "path_outside_clone");
    assert.match(done.error?.message ?? "", /app is a symlink that leads outside the repository/);
  });

  it("refuses a hook that is not executable, as Docker Hub does", async () => {
    const { build: done } = await build({
      Dockerfile: `FROM ${baseImage}\n`,
      "hooks/pre_build": { content: "#!/bin/sh\necho never\n", mode: 0o644 },
    });
    assert.equal(done.status, "failed");
    assert.equal(done.error?.code, "hook_failed");
    assert.match(done.error?.message ?? "", /hooks\/pre_build is not executable/);
  });
});
