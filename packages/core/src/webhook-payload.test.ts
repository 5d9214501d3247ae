import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import type { BuildStatus, BuildView } from "./build.js";
import { toPushedByHandPayload, toWebhookPayload, webhookEventOf, webhookSignature, type WebhookEvent } from "./webhook-payload.js";

const build: BuildView = {
  id: "0193a000-0000-7000-8000-000000000001",
  repository: "acme/hello",
  ruleId: "0193a000-0000-7000-8000-000000000002",
  status: "success",
  cause: { type: "push", delivery: "0193a000-0000-7000-8000-000000000003" },
  sourceType: "branch",
  sourceName: "main",
  commit: "0123456789abcdef0123456789abcdef01234567",
  commitMessage: "Add a Dockerfile",
  tags: ["latest", "v1"],
  dockerfile: "Dockerfile",
  context: "/",
  image: "127.0.0.1:5000/acme/hello",
  digest: "sha256:" + "a".repeat(64),
  error: null,
  queuedAt: "2026-11-23T01:50:30.417Z",
  startedAt: "2026-11-23T01:50:31.000Z",
  finishedAt: "2026-11-23T01:51:02.999Z",
};

const repository = {
  namespace: "acme",
  name: "hello",
  private: true,
  description: "greets",
  createdAt: "2026-11-20T10:00:00.000Z",
};

describe("webhookEventOf", () => {
  const cases: [BuildStatus, WebhookEvent | undefined][] = [
    ["success", "push"],
    ["failed", "build_failed"],
    ["canceled", "build_canceled"],
    ["timed_out", "build_timed_out"],
    ["superseded", undefined],
    ["queued", undefined],
    ["building", undefined],
  ];
  for (const [status, event] of cases) it(`${status} → ${event}`, () => assert.equal(webhookEventOf(status), event));
});

describe("toWebhookPayload", () => {
  it("gives Docker Hub's push payload, one tag at a time", () => {
    const payload = toWebhookPayload({ event: "push", tag: "v1", build, repository, publicUrl: "https://slipway.example.com" });
    // Docker Hub's documented fields, in full (https://docs.docker.com/docker-hub/repos/manage/webhooks/).
    assert.deepEqual(payload, {
      callback_url: `https://slipway.example.com/api/v1/builds/${build.id}`,
      push_data: {
        // finishedAt (01:51:02.999Z) in whole seconds since the epoch, cut, not rounded.
        pushed_at: 1795398662,
        pusher: "slipway",
        tag: "v1",
        images: [`127.0.0.1:5000/acme/hello@sha256:${"a".repeat(64)}`],
      },
      repository: {
        comment_count: 0,
        date_created: 1795168800,
        description: "greets",
        dockerfile: null,
        full_description: null,
        is_official: false,
        is_private: true,
        is_trusted: true,
        name: "hello",
        namespace: "acme",
        owner: "acme",
        repo_name: "acme/hello",
        repo_url: "https://slipway.example.com/#/r/acme/hello",
        star_count: 0,
        status: "Active",
      },
      build,
    });
  });

  for (const event of ["build_failed", "build_canceled", "build_timed_out"] as const) {
    it(`${event}: Slipway's shape, without push_data`, () => {
      const failed: BuildView = { ...build, status: "failed", digest: null, error: { code: "dockerfile_error", message: "step 2 failed" } };
      const payload = toWebhookPayload({ event, tag: null, build: failed, repository, publicUrl: "http://127.0.0.1:8080" });
      assert.equal("push_data" in payload, false);
      assert.equal((payload as { event: string }).event, event);
      assert.equal(payload.callback_url, `http://127.0.0.1:8080/api/v1/builds/${build.id}`);
      assert.deepEqual(payload.build.error, { code: "dockerfile_error", message: "step 2 failed" });
      assert.equal(payload.repository.repo_name, "acme/hello");
    });
  }

  it("sends only the API's fields of a build record", () => {
    const record = { ...build, repositoryId: "r", cache: true, buildArgs: { TOKEN: "not for receivers" } };
    const payload = toWebhookPayload({ event: "push", tag: "latest", build: record, repository, publicUrl: "" });
    assert.deepEqual(payload.build, build);
    assert.doesNotMatch(JSON.stringify(payload), /not for receivers/);
  });

  it("lists no image when the build recorded no digest", () => {
    const payload = toWebhookPayload({ event: "push", tag: "latest", build: { ...build, digest: null }, repository, publicUrl: "" });
    assert.ok("push_data" in payload);
    assert.deepEqual(payload.push_data.images, []);
  });
});

describe("webhookSignature", () => {
  it("is sha256=<hex HMAC-SHA256 of the body>", () => {
    const body = '{"push_data":{"tag":"latest"}}';
    const expected = createHmac("sha256", "s3cret").update(body).digest("hex");
    assert.equal(webhookSignature("s3cret", body), `sha256=${expected}`);
    assert.equal(webhookSignature("s3cret", Buffer.from(body)), `sha256=${expected}`);
  });
});

describe("toPushedByHandPayload", () => {
  it("is Docker Hub's push payload, with the pusher, the tag and the pushed digest, and no build", () => {
    const digest = `sha256:${"c".repeat(64)}`;
    const payload = toPushedByHandPayload({
      push: { tag: "v2", digest, pusher: "alice", pushedAt: "2026-11-23T05:00:00.000Z" },
      image: "127.0.0.1:5000/acme/hello",
      repository,
      publicUrl: "http://127.0.0.1:8080",
    });
    assert.deepEqual(payload.push_data, { pushed_at: Date.parse("2026-11-23T05:00:00.000Z") / 1000, pusher: "alice", tag: "v2", images: [`127.0.0.1:5000/acme/hello@${digest}`] });
    assert.equal(payload.build, null);
    assert.equal(payload.callback_url, "http://127.0.0.1:8080/api/v1/repositories/acme/hello");
    assert.equal(payload.repository.repo_name, "acme/hello");
  });
});
