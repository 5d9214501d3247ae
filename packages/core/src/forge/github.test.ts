import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import fc from "fast-check";
import { github } from "./github.js";
import type { Headers } from "./types.js";

interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

/** Real payloads GitHub sent, collected by octokit. */
function examples(event: string): Record<string, unknown>[] {
  const file = createRequire(import.meta.url).resolve("@octokit/webhooks-examples/api.github.com/index.json");
  const groups = JSON.parse(readFileSync(file, "utf8")) as ExampleGroup[];
  const group = groups.find((candidate) => candidate.name === event);
  assert.ok(group, `@octokit/webhooks-examples has no "${event}" examples`);
  assert.ok(group.examples.length > 0);
  return group.examples;
}

function sign(algorithm: "sha1" | "sha256", secret: string, body: Buffer): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest("hex")}`;
}

describe("github.parse over every push example", () => {
  examples("push").forEach((example, index) => {
    const ref = example.ref as string;
    const after = example.after as string;
    const repository = (example.repository as { full_name: string }).full_name;
    const deleted = example.deleted === true || /^0{40}$/.test(after);
    it(`push #${index}: ${ref}${deleted ? " (deleted)" : ""}`, () => {
      const result = github.parse("push", example);
      if (deleted) {
        assert.deepEqual(result, { kind: "ignored", repository, reason: "deletion" });
        return;
      }
      const headCommit = example.head_commit as { id: string; message: string } | null;
      const isTag = ref.startsWith("refs/tags/");
      assert.deepEqual(result, {
        kind: "push",
        repository,
        pushes: [
          {
            provider: "github",
            repository,
            ref,
            sourceType: isTag ? "tag" : "branch",
            sourceName: ref.replace(/^refs\/(heads|tags)\//, ""),
            commit: isTag && headCommit ? headCommit.id : after,
            commitMessage: headCommit?.message ?? "",
            pusher: (example.pusher as { name: string }).name,
          },
        ],
      });
    });
  });

  it("the examples hold both a branch push and a tag push that build", () => {
    const kinds = examples("push")
      .map((example) => github.parse("push", example))
      .flatMap((result) => (result.kind === "push" ? result.pushes.map((push) => push.sourceType) : []));
    assert.ok(kinds.includes("branch") && kinds.includes("tag"));
  });
});

describe("github.parse over every ping example", () => {
  examples("ping").forEach((example, index) => {
    it(`ping #${index}`, () => {
      const repository = (example.repository as { full_name?: string } | undefined)?.full_name ?? null;
      assert.deepEqual(github.parse("ping", example), { kind: "ping", repository });
    });
  });
});

describe("github.parse, hand-made variations", () => {
  const base = examples("push").find((example) => example.ref === "refs/heads/master" && example.deleted === false);
  assert.ok(base);
  const commit = "a".repeat(40);
  const push = (fields: Record<string, unknown>): unknown => ({ ...base, after: commit, ...fields });

  it("a branch name with slashes keeps them", () => {
    const result = github.parse("push", push({ ref: "refs/heads/feature/login/v2" }));
    assert.equal(result.kind, "push");
    if (result.kind === "push") assert.equal(result.pushes[0]?.sourceName, "feature/login/v2");
  });

  it("an annotated tag builds head_commit, not the tag object in after", () => {
    const tagObject = "b".repeat(40);
    const result = github.parse("push", push({ ref: "refs/tags/v1.0", after: tagObject, head_commit: { id: commit, message: "release" } }));
    assert.equal(result.kind, "push");
    if (result.kind === "push") {
      assert.equal(result.pushes[0]?.commit, commit);
      assert.equal(result.pushes[0]?.commitMessage, "release");
    }
  });

  it("a branch builds after, and upper-case hex is lowered", () => {
    const result = github.parse("push", push({ after: "ABCDEF".padEnd(40, "0"), head_commit: null }));
    assert.equal(result.kind, "push");
    if (result.kind === "push") {
      assert.equal(result.pushes[0]?.commit, "abcdef".padEnd(40, "0"));
      assert.equal(result.pushes[0]?.commitMessage, "");
    }
  });

  it("missing pusher gives null, missing head_commit an empty message", () => {
    const { pusher: _pusher, head_commit: _head, ...rest } = base;
    const result = github.parse("push", { ...rest, after: commit });
    assert.equal(result.kind, "push");
    if (result.kind === "push") {
      assert.equal(result.pushes[0]?.pusher, null);
      assert.equal(result.pushes[0]?.commitMessage, "");
    }
  });

  const deletions: [string, Record<string, unknown>][] = [
    ["deleted: true", { deleted: true }],
    ["all-zero after", { deleted: false, after: "0".repeat(40) }],
  ];
  for (const [name, fields] of deletions) {
    it(`${name} is an ignored deletion`, () => {
      assert.deepEqual(github.parse("push", push(fields)), { kind: "ignored", repository: "Codertocat/Hello-World", reason: "deletion" });
    });
  }

  const bad: [string, unknown][] = [
    ["not an object", "push"],
    ["an array", [base]],
    ["no repository", push({ repository: undefined })],
    ["repository without full_name", push({ repository: { name: "x" } })],
    ["empty full_name", push({ repository: { full_name: "" } })],
    ["no ref", push({ ref: undefined })],
    ["ref not a string", push({ ref: 7 })],
    ["a note ref", push({ ref: "refs/notes/commits" })],
    ["a pull ref", push({ ref: "refs/pull/1/head" })],
    ["an unqualified ref", push({ ref: "main" })],
    ["a ref with no name", push({ ref: "refs/heads/" })],
    ["after missing", push({ after: undefined })],
    ["after short", push({ after: "abc" })],
    ["after SHA-256 sized", push({ after: "a".repeat(64) })],
    ["after non-hex", push({ after: "g".repeat(40) })],
    ["deleted not a boolean", push({ deleted: "false" })],
    ["head_commit a string", push({ head_commit: "abc" })],
  ];
  for (const [name, payload] of bad) {
    it(`bad_request: ${name}`, () => {
      const result = github.parse("push", payload);
      assert.equal(result.kind, "bad_request");
      if (result.kind === "bad_request") assert.ok(result.message.length > 0);
    });
  }

  it("a tag whose head_commit id is not a commit falls back to after", () => {
    const result = github.parse("push", push({ ref: "refs/tags/v1", head_commit: { id: "nope", message: 5 } }));
    assert.equal(result.kind, "push");
    if (result.kind === "push") {
      assert.equal(result.pushes[0]?.commit, commit);
      assert.equal(result.pushes[0]?.commitMessage, "");
    }
  });

  it("other events build nothing and name the event", () => {
    const [issue] = examples("issues");
    assert.deepEqual(github.parse("issues", issue), {
      kind: "ignored",
      repository: "Codertocat/Hello-World",
      reason: 'event "issues" builds nothing',
    });
    assert.deepEqual(github.parse("create", null), { kind: "ignored", repository: null, reason: 'event "create" builds nothing' });
  });

  it("a ping that is not an object is a bad request", () => {
    assert.equal(github.parse("ping", "zen").kind, "bad_request");
  });
});

describe("github.parse properties", () => {
  const events = fc.constantFrom("push", "ping", "issues", "create", "");

  it("never throws and never yields a push from arbitrary values", () => {
    fc.assert(
      fc.property(events, fc.anything(), (event, payload) => {
        assert.notEqual(github.parse(event, payload).kind, "push");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws and never yields a push from arbitrary JSON", () => {
    fc.assert(
      fc.property(events, fc.json(), (event, text) => {
        assert.notEqual(github.parse(event, JSON.parse(text)).kind, "push");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws on real payloads with one field replaced by anything", () => {
    const payloads = [...examples("push"), ...examples("ping")];
    fc.assert(
      fc.property(
        fc.constantFrom(...payloads),
        fc.constantFrom("ref", "after", "deleted", "repository", "head_commit", "pusher"),
        fc.anything(),
        (payload, key, value) => {
          const result = github.parse("push", { ...payload, [key]: value });
          assert.ok(["push", "ignored", "bad_request"].includes(result.kind));
          if (result.kind === "push") {
            for (const p of result.pushes) assert.match(p.commit, /^[0-9a-f]{40}$/);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("github headers", () => {
  const guid = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
  const headers: Headers = {
    "x-github-event": "push",
    "x-github-delivery": guid,
    "x-github-hook-id": "123",
    "content-type": "application/json",
  };

  it("detects GitHub", () => assert.equal(github.detect(headers), true));
  for (const lookalike of ["x-gitea-event", "x-gogs-event", "x-forgejo-event"]) {
    it(`does not claim a delivery carrying ${lookalike}`, () =>
      assert.equal(github.detect({ ...headers, [lookalike]: "push" }), false));
  }
  it("does not detect a delivery without x-github-event", () =>
    assert.equal(github.detect({ "x-gitlab-event": "Push Hook" }), false));

  it("event", () => {
    assert.equal(github.event(headers), "push");
    assert.equal(github.event({ "x-github-event": ["ping", "push"] }), "ping");
    assert.equal(github.event({ "x-github-event": " " }), undefined);
    assert.equal(github.event({}), undefined);
  });

  it("deliveryKey", () => {
    assert.equal(github.deliveryKey(headers), `123:${guid}`);
    assert.equal(github.deliveryKey({ "x-github-delivery": guid }), `:${guid}`);
    assert.equal(github.deliveryKey({ "x-github-hook-id": "123" }), undefined);
    assert.equal(github.deliveryKey({ "x-github-delivery": "" }), undefined);
  });
});

describe("github.verify", () => {
  const secret = "s3cret-\u00e9";
  const body = Buffer.from(JSON.stringify(examples("push")[0]));
  const good256 = sign("sha256", secret, body);
  const good1 = sign("sha1", secret, body);

  const cases: [string, Headers, ReturnType<typeof github.verify>][] = [
    ["sha256", { "x-hub-signature-256": good256 }, { ok: true }],
    ["sha256 upper-case hex", { "x-hub-signature-256": `sha256=${good256.slice(7).toUpperCase()}` }, { ok: true }],
    ["legacy sha1 alone", { "x-hub-signature": good1 }, { ok: true }],
    ["both, both right", { "x-hub-signature-256": good256, "x-hub-signature": good1 }, { ok: true }],
    ["sha256 preferred over a right sha1", { "x-hub-signature-256": sign("sha256", "wrong", body), "x-hub-signature": good1 }, { ok: false, reason: "mismatch" }],
    ["by prefix: sha1 value in the sha256 header", { "x-hub-signature-256": good1 }, { ok: true }],
    ["array header: first value", { "x-hub-signature-256": [good256, "sha256=00"] }, { ok: true }],
    ["none", {}, { ok: false, reason: "missing" }],
    ["empty header", { "x-hub-signature-256": "" }, { ok: false, reason: "empty" }],
    ["empty digest", { "x-hub-signature-256": "sha256=" }, { ok: false, reason: "empty" }],
    ["no prefix", { "x-hub-signature-256": good256.slice(7) }, { ok: false, reason: "malformed" }],
    ["unknown algorithm", { "x-hub-signature-256": `md5=${good256.slice(7)}` }, { ok: false, reason: "malformed" }],
    ["non-hex digest", { "x-hub-signature-256": "sha256=xyz" }, { ok: false, reason: "malformed" }],
    ["wrong secret", { "x-hub-signature-256": sign("sha256", "other", body) }, { ok: false, reason: "mismatch" }],
    ["truncated digest", { "x-hub-signature-256": good256.slice(0, -1) }, { ok: false, reason: "mismatch" }],
    ["wrong legacy", { "x-hub-signature": sign("sha1", "other", body) }, { ok: false, reason: "mismatch" }],
  ];
  for (const [name, headers, expected] of cases) {
    it(name, () => assert.deepEqual(github.verify(headers, body, secret), expected));
  }

  it("a changed body does not verify", () => {
    const changed = Buffer.from(body.toString("utf8").replace("Codertocat", "Codertocax"));
    assert.deepEqual(github.verify({ "x-hub-signature-256": good256 }, changed, secret), { ok: false, reason: "mismatch" });
  });
});
