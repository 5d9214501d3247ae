import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { pullAndRun, registryDigest } from "../support/docker.js";
import { githubPushPayload, sendGithubDelivery } from "../support/github.js";
import { requireEnv, type Slipway } from "../support/slipway.js";

const registry = requireEnv("SLIPWAY_REGISTRY");
const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");

describe("build rules, as Docker Hub's", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;

  before(async () => ({ git, slipway, stop } = await startEnvironment()));
  after(() => stop?.());

  async function setUp() {
    const name = `rules-${randomBytes(4).toString("hex")}`;
    await git.createRepo(`acme/${name}`);
    await slipway.api("POST", "/repositories", { namespace: "acme", name });
    const source = await slipway.api("PUT", `/repositories/acme/${name}/source`, { provider: "github", repository: `acme/${name}`, cloneUrl: git.url(`acme/${name}`) });
    const rules = await slipway.api("GET", `/repositories/acme/${name}/rules`);
    await slipway.api("DELETE", `/repositories/acme/${name}/rules/${rules.body.rules[0].id}`);
    const push = (ref: string, commit: string) =>
      sendGithubDelivery(source.body.webhookUrl, githubPushPayload({ repository: `acme/${name}`, ref, after: commit, cloneUrl: git.url(`acme/${name}`) }), {
        secret: source.body.secret,
      });
    return { name, push };
  }

  it("a version tag pushes every tag its template gives, on one digest", async () => {
    const { name, push } = await setUp();
    const rule = await slipway.api("POST", `/repositories/acme/${name}/rules`, {
      sourceType: "tag",
      sourceName: "/^v([0-9]+)\\.([0-9]+)\\.([0-9]+)$/",
      dockerTag: "{\\1}.{\\2},{\\1}.{\\2}.{\\3},latest",
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    const dry = await slipway.api("POST", `/repositories/acme/${name}/rules/match`, { sourceType: "tag", sourceName: "v1.2.3" });
    assert.equal(dry.status, 200);
    assert.deepEqual(dry.body.matches.map((m: any) => m.tags), [["1.2", "1.2.3", "latest"]]);
    const none = await slipway.api("POST", `/repositories/acme/${name}/rules/match`, { sourceType: "tag", sourceName: "v1.2" });
    assert.deepEqual(none.body.matches, [], "the pattern matches the whole name only");

    const { commit } = await git.commitAndPush(`acme/${name}`, { Dockerfile: `FROM ${baseImage}\nCMD ["echo", "v1.2.3"]\n` }, { tag: "v1.2.3", annotated: true });
    const answer = await push("refs/tags/v1.2.3", commit);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.builds[0].tags, ["1.2", "1.2.3", "latest"]);
    const build = await slipway.waitForBuild(answer.body.builds[0].id);
    assert.equal(build.status, "success", JSON.stringify(build.error));
    const digests = await Promise.all(["1.2", "1.2.3", "latest"].map((tag) => registryDigest(registry, `acme/${name}`, tag)));
    assert.deepEqual(digests, [build.digest, build.digest, build.digest]);
    assert.equal((await pullAndRun(`${registry}/acme/${name}:1.2.3`)).trim(), "v1.2.3");
  });

  it("rules with the same Dockerfile share one build that pushes all their tags", async () => {
    const { name, push } = await setUp();
    await slipway.api("POST", `/repositories/acme/${name}/rules`, { sourceType: "branch", sourceName: "main", dockerTag: "latest" });
    await slipway.api("POST", `/repositories/acme/${name}/rules`, { sourceType: "branch", sourceName: "/^ma.*$/", dockerTag: "{sourceref}-edge" });
    const { commit } = await git.commitAndPush(`acme/${name}`, { Dockerfile: `FROM ${baseImage}\n` });
    const answer = await push("refs/heads/main", commit);
    assert.equal(answer.body.builds.length, 1);
    assert.deepEqual(answer.body.builds[0].tags, ["latest", "main-edge"]);
    assert.equal((await slipway.waitForBuild(answer.body.builds[0].id)).status, "success");
  });

  it("refuses a rule whose tag can never be valid, and fails a build whose rendered tag is not", async () => {
    const { name, push } = await setUp();
    const refused = await slipway.api("POST", `/repositories/acme/${name}/rules`, { sourceType: "branch", sourceName: "main", dockerTag: "bad tag!" });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, "validation_failed");

    await slipway.api("POST", `/repositories/acme/${name}/rules`, { sourceType: "branch", sourceName: "/^feature\\/.*$/", dockerTag: "{sourceref}" });
    const { commit } = await git.commitAndPush(`acme/${name}`, { Dockerfile: `FROM ${baseImage}\n` }, { branch: "feature/x" });
    const answer = await push("refs/heads/feature/x", commit);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    const build = await slipway.waitForBuild(answer.body.builds[0].id);
    assert.equal(build.status, "failed");
    assert.equal(build.error.code, "invalid_tag");
    assert.match(build.error.message, /feature\/x/);
  });

  it("a push that no rule matches, or only rules with autobuild off, builds nothing and says why", async () => {
    const { name, push } = await setUp();
    await slipway.api("POST", `/repositories/acme/${name}/rules`, { sourceType: "branch", sourceName: "main", dockerTag: "latest", autobuild: false });
    const { commit } = await git.commitAndPush(`acme/${name}`, { Dockerfile: `FROM ${baseImage}\n` });
    const off = await push("refs/heads/main", commit);
    assert.equal(off.status, 200);
    assert.match(off.body.ignored, /autobuild is off/);
    const other = await push("refs/heads/develop", commit);
    assert.equal(other.status, 200);
    assert.match(other.body.ignored, /no build rule matches branch "develop"/);
  });
});
