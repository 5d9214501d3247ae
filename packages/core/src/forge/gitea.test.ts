import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { gitea } from "./gitea.js";
import { github } from "./github.js";
import { detectForge } from "./index.js";
import type { Headers, ParseResult, PushEvent } from "./types.js";

interface Fixture {
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const FIXTURES = new URL("../../fixtures/gitea/", import.meta.url);

/** A delivery as Gitea, Forgejo or Gogs sent it, header names lower-cased as node:http gives them. */
function fixture(name: string): Fixture {
  const { headers, body } = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
  return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body };
}

function push(fields: Omit<PushEvent, "provider" | "sourceType" | "sourceName">): PushEvent {
  const [, kind = "", sourceName = ""] = /^refs\/(heads|tags)\/(.*)$/.exec(fields.ref) ?? [];
  return { provider: "gitea", sourceType: kind === "tags" ? "tag" : "branch", sourceName, ...fields };
}

const pushed = (pushEvent: PushEvent): ParseResult => ({ kind: "push", repository: pushEvent.repository, pushes: [pushEvent] });
const HW = "gordon/hello-world";
const AFTER = "ef98532add3b2feb7a137426bba1248724367df5";

const expected: Record<string, ParseResult> = {
  push: pushed(push({ repository: HW, ref: "refs/heads/main", commit: AFTER, commitMessage: "bump\n", pusher: "gordon" })),
  "push-forgejo": pushed(
    push({
      repository: "acme/widgets",
      ref: "refs/heads/feature/wip",
      commit: "2e4d6c8b0a1f3e5d7c9b1a2f4e6d8c0b2a4f6e8d",
      commitMessage: "WIP: smaller image\n\nMulti-stage build.",
      pusher: "gordon",
    }),
  ),
  // Gogs sends no head_commit: the pushed commit among `commits` gives the message.
  "push-gogs": pushed(
    push({
      repository: "unknwon/webhooks",
      ref: "refs/heads/master",
      commit: "bffeb74224043ba2feb48d137756c8a9331c449a",
      commitMessage: "!@#0^%>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>\n",
      pusher: "unknwon",
    }),
  ),
  // An annotated tag: head_commit, not the tag object in after.
  "push-tag-annotated": pushed(push({ repository: HW, ref: "refs/tags/feature/x", commit: AFTER, commitMessage: "bump\n", pusher: "gordon" })),
  "push-branch-created": pushed(push({ repository: HW, ref: "refs/heads/staging", commit: AFTER, commitMessage: "", pusher: "gordon" })),
  "push-branch-deleted": { kind: "ignored", repository: HW, reason: "deletion" },
  "create-tag": { kind: "ignored", repository: HW, reason: 'event "create" builds nothing' },
  "delete-branch": { kind: "ignored", repository: HW, reason: "deletion" },
};

describe("gitea fixtures", () => {
  it("every fixture has an expected result", () => {
    const names = readdirSync(FIXTURES).filter((file) => file.endsWith(".json")).map((file) => file.slice(0, -5));
    assert.deepEqual(names.sort(), Object.keys(expected).sort());
  });

  for (const [name, result] of Object.entries(expected)) {
    it(`${name}: detected (not as GitHub), parsed`, () => {
      const { headers, body } = fixture(name);
      assert.equal(detectForge(headers), gitea);
      assert.equal(github.detect(headers), false);
      const event = gitea.event(headers);
      assert.ok(event !== undefined);
      assert.deepEqual(gitea.parse(event, body), result);
    });
  }
});

describe("gitea headers", () => {
  it("event and deliveryKey from Gitea's, Forgejo's or Gogs' own headers", () => {
    const cases: [string, string, string][] = [
      ["push", "push", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"],
      ["push-forgejo", "push", "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f"],
      ["push-gogs", "push", "f6266f16-1bf3-46a5-9ea4-602e06ead473"],
      ["delete-branch", "delete", "0d1e2f3a-4b5c-4d6e-9f7a-8b9c0d1e2f3a"],
    ];
    for (const [name, event, delivery] of cases) {
      const { headers } = fixture(name);
      assert.equal(gitea.event(headers), event, name);
      assert.equal(gitea.deliveryKey(headers), delivery, name);
    }
    assert.equal(gitea.event({ "x-forgejo-event": "push" }), "push");
    assert.equal(gitea.deliveryKey({ "x-forgejo-delivery": "f" }), "f");
    assert.equal(gitea.deliveryKey({ "x-github-delivery": "g" }), undefined);
    assert.equal(gitea.event({ "x-github-event": "push" }), undefined);
  });

  it("detects by any of its event headers, never by GitHub's alone", () => {
    for (const name of ["x-gitea-event", "x-forgejo-event", "x-gogs-event"]) assert.equal(gitea.detect({ [name]: "push" }), true);
    assert.equal(gitea.detect({ "x-github-event": "push", "x-hub-signature-256": "sha256=00" }), false);
  });
});

describe("gitea.parse, hand-made variations", () => {
  const base = fixture("push").body;
  const variant = (fields: Record<string, unknown>): Record<string, unknown> => ({ ...base, ...fields });

  it("without head_commit, the commit built among commits gives the message, else the last one", () => {
    const commits = [
      { id: AFTER, message: "the pushed one" },
      { id: "b".repeat(40), message: "a later one" },
    ];
    const matched = gitea.parse("push", variant({ head_commit: null, commits }));
    const unmatched = gitea.parse("push", variant({ head_commit: null, commits: commits.slice(1) }));
    assert.equal(matched.kind === "push" ? matched.pushes[0]?.commitMessage : matched.kind, "the pushed one");
    assert.equal(unmatched.kind === "push" ? unmatched.pushes[0]?.commitMessage : unmatched.kind, "a later one");
  });

  it("a branch builds after even when head_commit differs", () => {
    const result = gitea.parse("push", variant({ head_commit: { id: "c".repeat(40), message: "m" } }));
    assert.equal(result.kind === "push" ? result.pushes[0]?.commit : result.kind, AFTER);
  });

  it("a tag whose head_commit has no valid id builds after", () => {
    const result = gitea.parse("push", variant({ ref: "refs/tags/v1", head_commit: { id: "nope" } }));
    assert.equal(result.kind === "push" ? result.pushes[0]?.commit : result.kind, AFTER);
  });

  it("a pusher with only a username (older Gogs) is named by it", () => {
    const result = gitea.parse("push", variant({ pusher: { username: "old" } }));
    assert.equal(result.kind === "push" ? result.pushes[0]?.pusher : result.kind, "old");
  });

  const bad: [string, unknown][] = [
    ["not an object", "push"],
    ["no repository", variant({ repository: undefined })],
    ["no ref", variant({ ref: undefined })],
    ["a short ref, as create events carry", variant({ ref: "main" })],
    ["a pull ref", variant({ ref: "refs/pull/1/head" })],
    ["after missing", variant({ after: undefined })],
    ["after a SHA-256 object id", variant({ after: "a".repeat(64) })],
    ["head_commit a string", variant({ head_commit: "abc" })],
  ];
  for (const [name, payload] of bad) {
    it(`bad_request: ${name}`, () => {
      const result = gitea.parse("push", payload);
      assert.equal(result.kind, "bad_request");
      if (result.kind === "bad_request") assert.ok(result.message.length > 0);
    });
  }
});

describe("gitea.parse properties", () => {
  const events = fc.constantFrom("push", "create", "delete", "release", "");

  it("never throws and never yields a push from arbitrary JSON", () => {
    fc.assert(
      fc.property(events, fc.json(), (event, text) => {
        assert.notEqual(gitea.parse(event, JSON.parse(text)).kind, "push");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws and never yields a push from arbitrary values", () => {
    fc.assert(
      fc.property(events, fc.anything(), (event, payload) => {
        assert.notEqual(gitea.parse(event, payload).kind, "push");
      }),
      { numRuns: 1_000 },
    );
  });

  it("never throws on real payloads with one field replaced by anything", () => {
    const payloads = Object.keys(expected).map((name) => fixture(name).body);
    fc.assert(
      fc.property(
        fc.constantFrom(...payloads),
        fc.constantFrom("ref", "after", "before", "repository", "head_commit", "commits", "pusher"),
        fc.anything(),
        (payload, key, value) => {
          const result = gitea.parse("push", { ...payload, [key]: value });
          if (result.kind === "push") for (const p of result.pushes) assert.match(p.commit, /^[0-9a-f]{40}$/);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe("gitea.verify", () => {
  const secret = "s3cret-é";
  const json = JSON.stringify(fixture("push").body, null, 2);
  const body = Buffer.from(json);
  const hex = (algorithm: "sha1" | "sha256", key: string, data: Buffer | string = body): string =>
    createHmac(algorithm, key).update(data).digest("hex");

  /** The signature headers Gitea sends (services/webhook/deliver.go); empty digests without a secret. */
  const giteaSignatures = (key: string | null, data: Buffer | string = body): Headers => {
    const sha256 = key === null ? "" : hex("sha256", key, data);
    const sha1 = key === null ? "" : hex("sha1", key, data);
    return { "x-gitea-signature": sha256, "x-gogs-signature": sha256, "x-hub-signature": `sha1=${sha1}`, "x-hub-signature-256": `sha256=${sha256}` };
  };

  const cases: [string, Headers, ReturnType<typeof gitea.verify>][] = [
    ["Gitea's headers", giteaSignatures(secret), { ok: true }],
    ["Forgejo's header alone", { "x-forgejo-signature": hex("sha256", secret) }, { ok: true }],
    ["Gogs' header alone", { "x-gogs-signature": hex("sha256", secret) }, { ok: true }],
    ["upper-case hex", { "x-gitea-signature": hex("sha256", secret).toUpperCase() }, { ok: true }],
    ["X-Hub-Signature-256 alone", { "x-hub-signature-256": `sha256=${hex("sha256", secret)}` }, { ok: true }],
    ["X-Hub-Signature alone: SHA-1 by its prefix", { "x-hub-signature": `sha1=${hex("sha1", secret)}` }, { ok: true }],
    // A hook without a secret: every header present, every digest empty. Unsigned, never valid.
    ["Gitea without a secret", giteaSignatures(null), { ok: false, reason: "empty" }],
    ["wrong secret", giteaSignatures("other"), { ok: false, reason: "mismatch" }],
    ["none", {}, { ok: false, reason: "missing" }],
    ["prefixed value in X-Gitea-Signature", { "x-gitea-signature": `sha256=${hex("sha256", secret)}` }, { ok: false, reason: "malformed" }],
    ["SHA-1 digest in X-Gitea-Signature", { "x-gitea-signature": hex("sha1", secret) }, { ok: false, reason: "mismatch" }],
    ["an empty own header does not hide a wrong hub one", { "x-gitea-signature": "", "x-hub-signature-256": `sha256=${hex("sha256", "other")}` }, { ok: false, reason: "mismatch" }],
  ];
  for (const [name, headers, result] of cases) {
    it(name, () => assert.deepEqual(gitea.verify(headers, body, secret), result));
  }

  it("a form body: Gitea signs the payload field's JSON, not the form", () => {
    const form = Buffer.from(`payload=${encodeURIComponent(json).replaceAll("%20", "+")}`);
    const headers = { "content-type": "application/x-www-form-urlencoded", ...giteaSignatures(secret, json) };
    assert.deepEqual(gitea.verify(headers, form, secret), { ok: true });
    // Signed over the form bytes instead, it does not match.
    const overForm = { "content-type": "application/x-www-form-urlencoded", ...giteaSignatures(secret, form) };
    assert.deepEqual(gitea.verify(overForm, form, secret), { ok: false, reason: "mismatch" });
  });

  it("a changed body does not verify", () => {
    const changed = Buffer.from(json.replace("gordon", "gordoN"));
    assert.deepEqual(gitea.verify(giteaSignatures(secret), changed, secret), { ok: false, reason: "mismatch" });
  });
});
