import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { GitServer } from "../git-server.js";
import { startEnvironment } from "../support/environment.js";
import { pullAndRun } from "../support/docker.js";
import { requireEnv, type Slipway } from "../support/slipway.js";

const baseImage = requireEnv("SLIPWAY_TEST_BASE_IMAGE");
/** Low, so the rate limit test reaches it quickly; no trigger of the other tests is called this often. */
const RATE_LIMIT = 5;

const DOCKERFILE = [
  `FROM ${baseImage}`,
  "ARG SOURCE_BRANCH",
  "ARG DOCKER_TAG",
  'RUN echo "$SOURCE_BRANCH as $DOCKER_TAG" > /built.txt',
  'CMD ["cat", "/built.txt"]',
].join("\n") + "\n";

interface Call {
  status: number;
  text: string;
  body: any;
  headers: Headers;
}

/**
 * A trigger call as curl makes it: `curl -X POST <url>` sends no body and no content type;
 * `curl --data '<json>'` sends a form content type; with `-H 'Content-Type: application/json'`, JSON.
 */
async function callTrigger(url: string, body?: string, contentType?: string): Promise<Call> {
  const res = await fetch(url, {
    method: "POST",
    headers: contentType === undefined ? {} : { "content-type": contentType },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return { status: res.status, text, body: text === "" ? undefined : JSON.parse(text), headers: res.headers };
}

const json = (url: string, value: unknown) => callTrigger(url, JSON.stringify(value), "application/json");

describe("build trigger URLs (Docker Hub compatible)", () => {
  let git: GitServer;
  let slipway: Slipway;
  let stop: (() => Promise<void>) | undefined;
  const tokens: string[] = [];

  before(async () => ({ git, slipway, stop } = await startEnvironment({ slipway: { env: { SLIPWAY_TRIGGER_RATE_LIMIT: String(RATE_LIMIT) } } })));
  after(() => stop?.());

  /** A forge repository with main, staging and dev, linked to a new Slipway repository. */
  async function link(): Promise<{ name: string; sourceId: string; forgeName: string }> {
    const name = `app-${randomBytes(4).toString("hex")}`;
    const forgeName = `acme/${name}`;
    await git.createRepo(forgeName);
    await git.commitAndPush(forgeName, { Dockerfile: DOCKERFILE }, { message: "first commit" });
    await git.commitAndPush(forgeName, { "staging.txt": "staging\n" }, { branch: "staging" });
    await git.commitAndPush(forgeName, { "dev.txt": "dev\n" }, { branch: "dev" });
    assert.equal((await slipway.api("POST", "/repositories", { namespace: "acme", name })).status, 201);
    const linked = await slipway.api("PUT", `/repositories/acme/${name}/source`, {
      provider: "github",
      repository: forgeName,
      cloneUrl: git.url(forgeName),
    });
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    return { name, sourceId: linked.body.id, forgeName };
  }

  async function addRule(name: string, rule: Record<string, unknown>): Promise<string> {
    const created = await slipway.api("POST", `/repositories/acme/${name}/rules`, rule);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id;
  }

  async function createTrigger(name: string, triggerName: string): Promise<{ id: string; url: string }> {
    const created = await slipway.api("POST", `/repositories/acme/${name}/triggers`, { name: triggerName });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(Object.keys(created.body).sort(), ["createdAt", "id", "name", "url"]);
    const match = /\/api\/build\/v1\/source\/([^/]+)\/trigger\/([A-Za-z0-9_-]+)\/call\/$/.exec(created.body.url);
    assert.ok(match, created.body.url);
    assert.ok(created.body.url.startsWith(`${slipway.url}/`), created.body.url);
    // At least 128 random bits: 32 bytes, base64url.
    assert.ok(Buffer.from(match[2]!, "base64url").length >= 16);
    tokens.push(match[2]!);
    return { id: created.body.id, url: created.body.url };
  }

  /** The builds an answer queued, as [sourceType, sourceName, tags], after each ended in success. */
  async function builtBy(call: Call, triggerId: string): Promise<[string, string, string[]][]> {
    assert.equal(call.status, 202, call.text);
    const ended = [];
    for (const queued of call.body.builds) {
      assert.equal(queued.commit, "");
      const build = await slipway.waitForBuild(queued.id);
      assert.equal(build.status, "success", JSON.stringify(build.error));
      assert.deepEqual(build.cause, { type: "trigger", trigger: triggerId });
      assert.match(build.commit, /^[0-9a-f]{40}$/, "the worker records the head it built");
      ended.push(build);
    }
    return ended.map((b: any) => [b.sourceType, b.sourceName, b.tags]);
  }

  it("builds what each of Docker Hub's bodies asks for", async () => {
    const repo = await link();
    // Rules beside the default (branch main → latest, autobuild on):
    await addRule(repo.name, { sourceType: "branch", sourceName: "staging", dockerTag: "staging" });
    await addRule(repo.name, { sourceType: "branch", sourceName: "dev", dockerTag: "dev,edge", autobuild: false });
    const versions = await addRule(repo.name, { sourceType: "tag", sourceName: "/^v([0-9.]+)$/", dockerTag: "{\\1}" });
    const first = await createTrigger(repo.name, "ci");
    const second = await createTrigger(repo.name, "release");
    assert.notEqual(first.url, second.url);

    // curl -X POST <url>: every autobuild rule at its head; the /regex/ rule is skipped, and said so.
    const empty = await callTrigger(first.url);
    assert.deepEqual(empty.body.skipped.map((s: any) => s.ruleId), [versions]);
    assert.match(empty.body.skipped[0].reason, /matches a pattern/);
    assert.deepEqual(await builtBy(empty, first.id), [
      ["branch", "main", ["latest"]],
      ["branch", "staging", ["staging"]],
    ]);
    assert.equal((await pullAndRun(`${requireEnv("SLIPWAY_REGISTRY")}/acme/${repo.name}:staging`)).trim(), "staging as staging");

    // {"build": true}, as JSON, to the URL without its trailing slash.
    const build = await json(first.url.replace(/\/$/, ""), { build: true });
    assert.deepEqual(await builtBy(build, first.id), [
      ["branch", "main", ["latest"]],
      ["branch", "staging", ["staging"]],
    ]);

    // {"docker_tag": …} as curl --data sends it (a form content type): a rule with autobuild off too.
    const byTag = await callTrigger(second.url, '{"docker_tag": "edge"}', "application/x-www-form-urlencoded");
    assert.deepEqual(await builtBy(byTag, second.id), [["branch", "dev", ["dev", "edge"]]]);

    const branch = await json(second.url, { source_type: "Branch", source_name: "staging" });
    assert.deepEqual(await builtBy(branch, second.id), [["branch", "staging", ["staging"]]]);

    // A tag pushed to the forge, built through the /regex/ rule that matches it.
    await git.commitAndPush(repo.forgeName, { "VERSION": "1.2\n" }, { branch: "release", tag: "v1.2" });
    const tag = await json(second.url, { source_type: "Tag", source_name: "v1.2" });
    assert.deepEqual(await builtBy(tag, second.id), [["tag", "v1.2", ["1.2"]]]);
    assert.equal((await pullAndRun(`${requireEnv("SLIPWAY_REGISTRY")}/acme/${repo.name}:1.2`)).trim(), "v1.2 as 1.2");

    // The list shows both triggers, used, without their URLs.
    const list = await slipway.api("GET", `/repositories/acme/${repo.name}/triggers`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.triggers.map((t: any) => [t.id, t.name, Object.keys(t).sort()]), [
      [first.id, "ci", ["createdAt", "id", "lastUsedAt", "name"]],
      [second.id, "release", ["createdAt", "id", "lastUsedAt", "name"]],
    ]);
    for (const t of list.body.triggers) assert.ok(Date.parse(t.lastUsedAt) >= Date.parse(t.createdAt));
  });

  it("refuses malformed bodies, and takes a call that builds nothing (202) saying why", async () => {
    const repo = await link();
    const versions = await addRule(repo.name, { sourceType: "tag", sourceName: "/^v.*$/", dockerTag: "{sourceref}" });
    const trigger = await createTrigger(repo.name, "bad bodies");
    // Another trigger for the calls that build nothing: each trigger stays under RATE_LIMIT calls.
    const quiet = await createTrigger(repo.name, "nothing to build");
    // Client errors: the body is not JSON, has an unknown field, or names what git refuses as a branch.
    const refused: [string, Promise<Call>, number, string, RegExp][] = [
      ["broken JSON", callTrigger(trigger.url, '{"build": ', "application/json"), 400, "invalid_json", /not valid JSON/],
      ["a misspelt field", json(trigger.url, { dockertag: "latest" }), 422, "validation_failed", /unknown field "dockertag"/],
      ["an option-like name", json(trigger.url, { source_type: "Branch", source_name: "-x" }), 422, "validation_failed", /not a valid git/],
    ];
    for (const [what, pending, status, code, message] of refused) {
      const answer = await pending;
      assert.equal(answer.status, status, `${what}: ${answer.text}`);
      assert.equal(answer.body.error.code, code, what);
      assert.match(answer.body.error.message, message, what);
    }
    // Well-formed calls that no rule builds: Docker Hub answers 202 and so does Slipway (scripts
    // with `curl -f` keep working), saying why in "ignored".
    const ignored: [string, Promise<Call>, RegExp][] = [
      ["a tag no rule has", json(quiet.url, { docker_tag: "nope" }), /nothing to build.*"nope"/],
      ["a branch no rule matches", json(quiet.url, { source_type: "Branch", source_name: "dev" }), /matches branch "dev"/],
    ];
    for (const [what, pending, reason] of ignored) {
      const answer = await pending;
      assert.equal(answer.status, 202, `${what}: ${answer.text}`);
      assert.deepEqual(Object.keys(answer.body).sort(), ["builds", "ignored", "skipped"], what);
      assert.deepEqual(answer.body.builds, [], what);
      assert.deepEqual(answer.body.skipped, [], what);
      assert.match(answer.body.ignored, reason, what);
    }
    const builds = await slipway.api("GET", `/repositories/acme/${repo.name}/builds`);
    assert.deepEqual(builds.body.builds, []);

    // Without the default rule, the only autobuild rule is a /regex/ one: {} builds nothing, and says why.
    const rules = await slipway.api("GET", `/repositories/acme/${repo.name}/rules`);
    const main = rules.body.rules.find((r: any) => r.sourceName === "main");
    assert.equal((await slipway.api("DELETE", `/repositories/acme/${repo.name}/rules/${main.id}`)).status, 204);
    const nothing = await callTrigger(quiet.url);
    assert.equal(nothing.status, 202, nothing.text);
    assert.deepEqual(nothing.body.builds, []);
    assert.deepEqual(nothing.body.skipped.map((s: any) => s.ruleId), [versions]);
    assert.match(nothing.body.ignored, /nothing to build: .*autobuild on.*matches a pattern.*"source_type": "Tag"/);
    assert.deepEqual((await slipway.api("GET", `/repositories/acme/${repo.name}/builds`)).body.builds, []);
  });

  it("answers a wrong token, an unknown source and a revoked trigger with the same 404", async () => {
    const repo = await link();
    const other = await link();
    const trigger = await createTrigger(repo.name, "to revoke");
    const elsewhere = await createTrigger(other.name, "elsewhere");
    const token = /\/trigger\/([^/]+)\//.exec(trigger.url)![1]!;
    const otherToken = /\/trigger\/([^/]+)\//.exec(elsewhere.url)![1]!;

    const wrongToken = await callTrigger(trigger.url.replace(token, randomBytes(32).toString("base64url")));
    const unknownSource = await callTrigger(trigger.url.replace(repo.sourceId, "0190a0a0-0000-7000-8000-000000000000"));
    const anotherRepositoryToken = await callTrigger(trigger.url.replace(token, otherToken));
    const garbage = await callTrigger(trigger.url.replace(token, "x"), "{not json");
    assert.equal(wrongToken.status, 404);
    assert.equal(wrongToken.body.error.code, "not_found");
    for (const answer of [unknownSource, anotherRepositoryToken, garbage]) {
      assert.equal(answer.status, 404);
      assert.equal(answer.text, wrongToken.text);
      assert.equal(answer.headers.get("content-type"), wrongToken.headers.get("content-type"));
    }

    assert.equal((await slipway.api("DELETE", `/repositories/acme/${repo.name}/triggers/${trigger.id}`)).status, 204);
    const revoked = await callTrigger(trigger.url);
    assert.equal(revoked.status, 404);
    assert.equal(revoked.text, wrongToken.text);
    assert.equal((await slipway.api("DELETE", `/repositories/acme/${repo.name}/triggers/${trigger.id}`)).status, 404);
    // A trigger of another repository cannot be revoked through this one.
    assert.equal((await slipway.api("DELETE", `/repositories/acme/${repo.name}/triggers/${elsewhere.id}`)).status, 404);
    assert.deepEqual((await slipway.api("GET", `/repositories/acme/${repo.name}/triggers`)).body, { triggers: [] });
    const builds = await slipway.api("GET", `/repositories/acme/${repo.name}/builds`);
    assert.deepEqual(builds.body.builds, []);
  });

  it("needs a linked source and a name to create a trigger", async () => {
    const name = `bare-${randomBytes(4).toString("hex")}`;
    assert.equal((await slipway.api("POST", "/repositories", { namespace: "acme", name })).status, 201);
    const unlinked = await slipway.api("POST", `/repositories/acme/${name}/triggers`, { name: "ci" });
    assert.equal(unlinked.status, 409);
    assert.match(unlinked.body.error.message, /no linked source/);
    const repo = await link();
    const nameless = await slipway.api("POST", `/repositories/acme/${repo.name}/triggers`, {});
    assert.equal(nameless.status, 422);
    const unknown = await slipway.api("POST", "/repositories/acme/no-such-repo/triggers", { name: "ci" });
    assert.equal(unknown.status, 404);
  });

  it("limits each trigger's calls a minute, answering 429 with Retry-After", async () => {
    const repo = await link();
    const limited = await createTrigger(repo.name, "limited");
    const spare = await createTrigger(repo.name, "spare");
    // A tag no rule has: each call is taken (and counted), then answered 202 without building.
    const call = (url: string) => json(url, { docker_tag: "none" });
    for (let i = 0; i < RATE_LIMIT; i += 1) assert.equal((await call(limited.url)).status, 202);
    const over = await call(limited.url);
    assert.equal(over.status, 429, over.text);
    assert.equal(over.body.error.code, "rate_limited");
    const retryAfter = Number(over.headers.get("retry-after"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
    // Another trigger has its own count; a wrong token is still 404, not 429.
    assert.equal((await call(spare.url)).status, 202);
    const token = /\/trigger\/([^/]+)\//.exec(limited.url)![1]!;
    assert.equal((await call(limited.url.replace(token, randomBytes(32).toString("base64url")))).status, 404);
  });

  it("never writes a trigger token to the processes' output", () => {
    const output = slipway.output();
    assert.ok(tokens.length >= 5);
    for (const token of tokens) assert.ok(!output.includes(token), "a trigger token is in the processes' output");
    // The calls were logged, with the token replaced.
    assert.match(output, /\/trigger\/\[redacted\]\/call/);
  });
});
