import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { gitlab } from "./gitlab.js";
import { detectForge } from "./index.js";
import type { Headers, ParseResult, PushEvent } from "./types.js";

interface Fixture {
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const FIXTURES = new URL("../../fixtures/gitlab/", import.meta.url);

/** A delivery as GitLab sent it, its header names lower-cased as node:http gives them. */
function fixture(name: string): Fixture {
  const { headers, body } = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
  return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body };
}

function push(fields: Partial<PushEvent> & Pick<PushEvent, "repository" | "ref" | "commit">): PushEvent {
  const [, kind = "", sourceName = ""] = /^refs\/(heads|tags)\/(.*)$/.exec(fields.ref) ?? [];
  return { provider: "gitlab", sourceType: kind === "tags" ? "tag" : "branch", sourceName, commitMessage: "", pusher: null, ...fields };
}

const pushed = (...pushes: PushEvent[]): ParseResult => ({ kind: "push", repository: pushes[0]?.repository ?? "", pushes });

const expected: Record<string, ParseResult> = {
  push: pushed(
    push({ repository: "mike/diaspora", ref: "refs/heads/master", commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", commitMessage: "fixed readme", pusher: "jsmith" }),
  ),
  "push-nested-namespace": pushed(
    push({ repository: "group1/group2/group3/repo", ref: "refs/heads/feature/wip", sourceName: "feature/wip", commit: "3c5f1b9e2d7a4c8f6e0b1a2d3c4e5f6a7b8c9d0e", pusher: "ada" }),
  ),
  "tag-push": pushed(
    push({ repository: "jsmith/example", ref: "refs/tags/v1.0.0", commit: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", commitMessage: "Tag message", pusher: "jsmith" }),
  ),
  "tag-push-annotated": pushed(
    push({ repository: "test/woodpecker", ref: "refs/tags/release/2024.1", sourceName: "release/2024.1", commit: "16862e368d8ab812e48833b741dad720d6e2cb7f", commitMessage: "Update main.go", pusher: "test" }),
  ),
  "branch-delete": { kind: "ignored", repository: "mike/diaspora", reason: "deletion" },
  "tag-delete": { kind: "ignored", repository: "jsmith/example", reason: "deletion" },
  "system-hook-push": pushed(
    push({
      repository: "mike/diaspora",
      ref: "refs/heads/master",
      commit: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      // Only the first commit is in the payload: its message is not the pushed commit's.
      commitMessage: "",
      pusher: "John Smith",
    }),
  ),
  "system-hook-repository-update": { kind: "ignored", repository: "jsmith/example", reason: 'System Hook of kind "repository_update" builds nothing' },
  "merge-request": { kind: "ignored", repository: "gitlabhq/gitlab-test", reason: 'event "Merge Request Hook" builds nothing' },
};

describe("gitlab fixtures", () => {
  it("every fixture has an expected result", () => {
    const names = readdirSync(FIXTURES).filter((file) => file.endsWith(".json")).map((file) => file.slice(0, -5));
    assert.deepEqual(names.sort(), Object.keys(expected).sort());
  });

  for (const [name, result] of Object.entries(expected)) {
    it(`${name}: detected, parsed`, () => {
      const { headers, body } = fixture(name);
      assert.equal(detectForge(headers), gitlab);
      const event = gitlab.event(headers);
      assert.ok(event !== undefined);
      assert.deepEqual(gitlab.parse(event, body), result);
    });
  }

  it("an annotated tag builds checkout_sha, not the tag object in after", () => {
    const { body } = fixture("tag-push-annotated");
    const result = gitlab.parse("Tag Push Hook", body);
    assert.equal(result.kind, "push");
    if (result.kind === "push") assert.notEqual(result.pushes[0]?.commit, body.after);
  });
});

describe("gitlab headers", () => {
  it("deliveryKey: Idempotency-Key, else X-Gitlab-Webhook-UUID, never X-Gitlab-Event-UUID", () => {
    assert.equal(gitlab.deliveryKey(fixture("push").headers), "4b3c1e0a-9f52-4d7e-8a61-2f0c5d9e7b13");
    // GitLab 16 sends no Idempotency-Key.
    assert.equal(gitlab.deliveryKey(fixture("push-nested-namespace").headers), "0d6b1f3a-8c24-4e7b-a9d5-3f1e6c2b8a70");
    assert.equal(gitlab.deliveryKey({ "x-gitlab-event-uuid": "shared-by-every-hook" }), undefined);
    assert.equal(gitlab.deliveryKey({ "idempotency-key": " ", "x-gitlab-webhook-uuid": "u" }), "u");
  });

  it("event", () => {
    assert.equal(gitlab.event({ "x-gitlab-event": " Tag Push Hook " }), "Tag Push Hook");
    assert.equal(gitlab.event({ "x-gitlab-event": "" }), undefined);
    assert.equal(gitlab.event({}), undefined);
  });

  it("detects only X-Gitlab-Event", () => {
    assert.equal(gitlab.detect({ "x-gitlab-event": "Push Hook" }), true);
    assert.equal(gitlab.detect({ "x-gitlab-token": "t" }), false);
  });
});

describe("gitlab.parse, hand-made variations", () => {
  const base = fixture("push").body;
  const commit = "a".repeat(40);
  const variant = (fields: Record<string, unknown>): Record<string, unknown> => ({ ...base, after: commit, checkout_sha: commit, ...fields });

  it("a Push Hook carrying a tag_push is parsed by its object_kind", () => {
    const result = gitlab.parse("Push Hook", variant({ object_kind: "tag_push", ref: "refs/tags/v2", message: "Tag v2" }));
    assert.equal(result.kind, "push");
    if (result.kind === "push") assert.deepEqual([result.pushes[0]?.sourceType, result.pushes[0]?.commitMessage], ["tag", "Tag v2"]);
  });

  it("a branch push never takes the top-level message", () => {
    const result = gitlab.parse("Push Hook", variant({ commits: [] }));
    assert.equal(result.kind, "push");
    if (result.kind === "push") assert.equal(result.pushes[0]?.commitMessage, "");
  });

  it("the last commit with the built id gives the message", () => {
    const commits = [
      { id: commit, message: "first" },
      { id: "b".repeat(40), message: "other" },
      { id: commit.toUpperCase(), message: "last" },
    ];
    const result = gitlab.parse("Push Hook", variant({ commits }));
    if (result.kind === "push") assert.equal(result.pushes[0]?.commitMessage, "last");
    else assert.fail(result.kind);
  });

  it("without checkout_sha, after is built", () => {
    const { checkout_sha: _drop, ...rest } = variant({});
    const result = gitlab.parse("Push Hook", rest);
    if (result.kind === "push") assert.equal(result.pushes[0]?.commit, commit);
    else assert.fail(result.kind);
  });

  it("a Service Hook push builds too", () => {
    assert.equal(gitlab.parse("Service Hook", variant({})).kind, "push");
  });

  const bad: [string, string, unknown][] = [
    ["not an object", "Push Hook", "push"],
    ["an array", "Push Hook", [base]],
    ["system hook not an object", "System Hook", null],
    ["no project", "Push Hook", variant({ project: undefined })],
    ["empty path_with_namespace", "Push Hook", variant({ project: { path_with_namespace: "" } })],
    ["no ref", "Push Hook", variant({ ref: undefined })],
    ["a merge request ref", "Push Hook", variant({ ref: "refs/merge-requests/1/head" })],
    ["an unqualified ref", "Tag Push Hook", variant({ object_kind: "tag_push", ref: "v1" })],
    ["no after", "Push Hook", variant({ after: undefined })],
    ["after short", "Push Hook", variant({ after: "abc" })],
    ["checkout_sha malformed", "Push Hook", variant({ checkout_sha: "xyz" })],
    ["checkout_sha a number", "Push Hook", variant({ checkout_sha: 7 })],
  ];
  for (const [name, event, payload] of bad) {
    it(`bad_request: ${name}`, () => {
      const result = gitlab.parse(event, payload);
      assert.equal(result.kind, "bad_request");
      if (result.kind === "bad_request") assert.ok(result.message.length > 0);
    });
  }

  it("a Push Hook with an unknown object_kind is ignored", () => {
    assert.deepEqual(gitlab.parse("Push Hook", variant({ object_kind: "build" })), {
      kind: "ignored",
      repository: "mike/diaspora",
      reason: 'Push Hook of kind "build" builds nothing',
    });
  });
});

describe("gitlab.parse properties", () => {
  const events = fc.constantFrom("Push Hook", "Tag Push Hook", "System Hook", "Service Hook", "Merge Request Hook", "");

  it("never throws and never yields a push from arbitrary JSON", () => {
    fc.assert(
      fc.property(events, fc.json(), (event, text) => {
        assert.notEqual(gitlab.parse(event, JSON.parse(text)).kind, "push");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws and never yields a push from arbitrary values", () => {
    fc.assert(
      fc.property(events, fc.anything(), (event, payload) => {
        assert.notEqual(gitlab.parse(event, payload).kind, "push");
      }),
      { numRuns: 1_000 },
    );
  });

  it("never throws on real payloads with one field replaced by anything", () => {
    const deliveries = Object.keys(expected).map(fixture);
    fc.assert(
      fc.property(
        fc.constantFrom(...deliveries),
        fc.constantFrom("ref", "after", "checkout_sha", "project", "commits", "object_kind", "event_name", "message", "user_username"),
        fc.anything(),
        ({ headers, body }, key, value) => {
          const result = gitlab.parse(gitlab.event(headers) ?? "", { ...body, [key]: value });
          if (result.kind === "push") for (const p of result.pushes) assert.match(p.commit, /^[0-9a-f]{40}$/);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe("gitlab.verify", () => {
  const secret = "s3cret-é";
  const body = Buffer.from(JSON.stringify(fixture("push").body));
  const id = "4b3c1e0a-9f52-4d7e-8a61-2f0c5d9e7b13";
  const timestamp = "1718092904";
  const key = Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const whsec = `whsec_${key.toString("base64")}`;

  /** Standard Webhooks: base64 HMAC-SHA256 of "<id>.<timestamp>.<body>". */
  const sign = (signingKey: Buffer | string, payload: Buffer = body): string =>
    `v1,${createHmac("sha256", signingKey).update(`${id}.${timestamp}.`).update(payload).digest("base64")}`;
  const standard = (signature: string): Headers => ({ "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature });

  const cases: [string, Headers, string, ReturnType<typeof gitlab.verify>][] = [
    ["token", { "x-gitlab-token": secret }, secret, { ok: true }],
    ["token wrong", { "x-gitlab-token": "other" }, secret, { ok: false, reason: "mismatch" }],
    ["token a prefix of the secret", { "x-gitlab-token": secret.slice(0, -1) }, secret, { ok: false, reason: "mismatch" }],
    ["token with a trailing space", { "x-gitlab-token": `${secret} ` }, secret, { ok: false, reason: "mismatch" }],
    ["token in another case", { "x-gitlab-token": secret.toUpperCase() }, secret, { ok: false, reason: "mismatch" }],
    ["token empty", { "x-gitlab-token": "" }, secret, { ok: false, reason: "empty" }],
    ["nothing", {}, secret, { ok: false, reason: "missing" }],
    ["signature, plain secret", standard(sign(secret)), secret, { ok: true }],
    ["signature, whsec_ secret: key is the decoded bytes", standard(sign(key)), whsec, { ok: true }],
    ["signature over the whsec_ string itself does not match", standard(sign(whsec)), whsec, { ok: false, reason: "mismatch" }],
    ["signature among several entries", standard(`v1,AAAA ${sign(secret)} v2,zzz`), secret, { ok: true }],
    ["signature wrong", standard(sign("other")), secret, { ok: false, reason: "mismatch" }],
    ["signature over another body", standard(sign(secret, Buffer.from("{}"))), secret, { ok: false, reason: "mismatch" }],
    ["signature empty", standard(""), secret, { ok: false, reason: "empty" }],
    ["signature with no v1 entry", standard("v2,abc"), secret, { ok: false, reason: "malformed" }],
    ["signature without webhook-id", { "webhook-timestamp": timestamp, "webhook-signature": sign(secret) }, secret, { ok: false, reason: "malformed" }],
    ["signature with a non-numeric timestamp", { ...standard(sign(secret)), "webhook-timestamp": "soon" }, secret, { ok: false, reason: "malformed" }],
    ["wrong token, right signature", { "x-gitlab-token": "other", ...standard(sign(secret)) }, secret, { ok: true }],
    ["right token, wrong signature", { "x-gitlab-token": secret, ...standard(sign("other")) }, secret, { ok: true }],
    ["both wrong", { "x-gitlab-token": "other", ...standard(sign("other")) }, secret, { ok: false, reason: "mismatch" }],
  ];
  for (const [name, headers, configured, result] of cases) {
    it(name, () => assert.deepEqual(gitlab.verify(headers, body, configured), result));
  }
});
