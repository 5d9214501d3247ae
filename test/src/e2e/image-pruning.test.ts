import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { GitServer } from "../git-server.js";
import { testDocker } from "../support/docker.js";
import { startEnvironment } from "../support/environment.js";
import { githubPushPayload, sendGithubDelivery } from "../support/github.js";
import { requireEnv, waitFor, type Slipway } from "../support/slipway.js";

const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");

describe("old images of a repository leave the build engine once a newer build has its tag", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;

  // Two seconds instead of a day: the pruner then looks every second.
  before(async () => ({ git, slipway, stop } = await startEnvironment({ slipway: { env: { SLIPWAY_IMAGE_RETENTION_MS: "2000" } } })));
  after(() => stop?.());

  it("removes the image a newer commit's build took the tag from, and keeps the current one", async () => {
    const name = `pruned-${randomBytes(4).toString("hex")}`;
    const forgeName = `acme/${name}`;
    await git.createRepo(forgeName);
    assert.equal((await slipway.api("POST", "/repositories", { namespace: "acme", name })).status, 201);
    const source = await slipway.api("PUT", `/repositories/acme/${name}/source`, { provider: "github", repository: forgeName, cloneUrl: git.url(forgeName) });
    assert.equal(source.status, 201, JSON.stringify(source.body));
    const docker = testDocker();

    /** Pushes a commit with this Dockerfile and answers its build once it ended. */
    async function pushAndBuild(text: string, dockerfile: string): Promise<any> {
      const { commit } = await git.commitAndPush(forgeName, { Dockerfile: dockerfile }, { message: text });
      const payload = githubPushPayload({ repository: forgeName, ref: "refs/heads/main", after: commit, cloneUrl: git.url(forgeName) });
      const answer = await sendGithubDelivery(source.body.webhookUrl, payload, { secret: source.body.secret });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      return slipway.waitForBuild(answer.body.builds[0].id);
    }
    /** The image a successful build of this commit leaves as latest. */
    async function buildCommit(text: string): Promise<string> {
      const build = await pushAndBuild(text, `FROM ${baseImage}\nRUN echo ${text} > /version\n`);
      assert.equal(build.status, "success", JSON.stringify(build.error));
      return (await docker.getImage(`${build.image}:latest`).inspect()).Id;
    }
    const exists = (id: string) =>
      docker
        .getImage(id)
        .inspect()
        .then(() => true)
        .catch((err: { statusCode?: number }) => (err.statusCode === 404 ? false : Promise.reject(err)));

    const first = await buildCommit("one");
    const second = await buildCommit("two");
    assert.notEqual(first, second);
    await waitFor("the first build's image to be removed", async () => ((await exists(first)) ? undefined : true), 30_000, 250);
    assert.equal(await exists(second), true, "the tag's current image stays");
    assert.match(slipway.output(), /removed images of earlier builds that no tag holds any more/);

    // A build that fails leaves its last step's image (on the steps before it): that goes too.
    const failed = await pushAndBuild("three", `FROM ${baseImage}\nRUN echo three > /version\nRUN false\n`);
    assert.equal(failed.status, "failed");
    const log = (await slipway.api<string>("GET", `/builds/${failed.id}/logs`)).body;
    const leftover = [...log.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].at(-1)?.[1];
    assert.ok(leftover, log);
    assert.equal(await exists(leftover), true);
    await waitFor("the failed build's leftover image to be removed", async () => ((await exists(leftover)) ? undefined : true), 30_000, 250);
    assert.equal(await exists(second), true);
  });
});
