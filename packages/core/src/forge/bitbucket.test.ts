import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bitbucket } from "./bitbucket.js";
import { bitbucketServer } from "./bitbucket-server.js";
import { detectForge } from "./index.js";
import type { Headers, ParseResult, PushEvent } from "./types.js";

interface Fixture {
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const FIXTURES = new URL("../../fixtures/bitbucket/", import.meta.url);

/** A delivery as Bitbucket Cloud sent it, its header names lower-cased as node:http gives them. */
function fixture(name: string): Fixture {
  const { headers, body } = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
  return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body };
}

const REPOSITORY = "acme-team/hello-docker";

function push(sourceType: PushEvent["sourceType"], sourceName: string, commit: string, commitMessage: string): PushEvent {
  const ref = `refs/${sourceType === "tag" ? "tags" : "heads"}/${sourceName}`;
  return { provider: "bitbucket", repository: REPOSITORY, ref, sourceType, sourceName, commit, commitMessage, pusher: "ghopper" };
}

const expected: Record<string, ParseResult> = {
  push: {
    kind: "push",
    repository: REPOSITORY,
    pushes: [push("branch", "main", "c14c1bb05dfb1fdcdf06b31485fff61b0ea44277", "Bump the base image\n")],
  },
  "push-tag": {
    kind: "push",
    repository: REPOSITORY,
    // The commit's message, not the annotated tag's.
    pushes: [push("tag", "release/1.0", "c14c1bb05dfb1fdcdf06b31485fff61b0ea44277", "Bump the base image\n")],
  },
  "push-several-changes": {
    kind: "push",
    repository: REPOSITORY,
    pushes: [
      push("branch", "feature/wip", "e7f3c2a19b0d4e5f8a6c1b2d3e4f5a6b7c8d9e0f", "WIP: multi-stage build\n"),
      push("branch", "main", "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c", "Merge branch 'fix/healthcheck'\n"),
    ],
  },
  "push-branch-deleted": { kind: "ignored", repository: REPOSITORY, reason: "deletion" },
  "push-branch-created": {
    kind: "push",
    repository: REPOSITORY,
    pushes: [push("branch", "staging", "c14c1bb05dfb1fdcdf06b31485fff61b0ea44277", "Bump the base image\n")],
  },
  "repo-updated": { kind: "ignored", repository: REPOSITORY, reason: 'event "repo:updated" builds nothing' },
};

describe("bitbucket (Cloud) fixtures", () => {
  it("every fixture has an expected result", () => {
    const names = readdirSync(FIXTURES).filter((file) => file.endsWith(".json")).map((file) => file.slice(0, -5));
    assert.deepEqual(names.sort(), Object.keys(expected).sort());
  });

  for (const [name, result] of Object.entries(expected)) {
    it(`${name}: detected, parsed`, () => {
      const { headers, body } = fixture(name);
      assert.equal(detectForge(headers), bitbucket);
      const event = bitbucket.event(headers);
      assert.ok(event !== undefined);
      assert.deepEqual(bitbucket.parse(event, body), result);
    });
  }
});

describe("bitbucket headers", () => {
  const { headers } = fixture("push");

  it("deliveryKey is X-Request-UUID", () => {
    assert.equal(bitbucket.deliveryKey(headers), "7a3e1c9d-5b2f-4d80-8e6a-1f4c0b9d2e73");
    assert.equal(bitbucket.deliveryKey({ "x-hook-uuid": "h" }), undefined);
    assert.equal(bitbucket.deliveryKey({ "x-request-uuid": " " }), undefined);
  });

  it("event is X-Event-Key", () => {
    assert.equal(bitbucket.event(headers), "repo:push");
    assert.equal(bitbucket.event({ "x-event-key": "" }), undefined);
  });

  // Told from Server by the key's value first, then Cloud's UUID headers against Server's X-Request-Id.
  const detection: [string, Headers, boolean][] = [
    ["repo:push alone", { "x-event-key": "repo:push" }, true],
    ["repo:push beside a proxy's X-Request-Id", { "x-event-key": "repo:push", "x-request-id": "r" }, true],
    ["a pull request key", { "x-event-key": "pullrequest:created" }, true],
    ["an unknown key with X-Hook-UUID", { "x-event-key": "repo:new_thing", "x-hook-uuid": "h" }, true],
    ["an unknown key with X-Request-UUID and X-Request-Id", { "x-event-key": "repo:new_thing", "x-request-uuid": "u", "x-request-id": "r" }, true],
    ["a Server key with Cloud headers", { "x-event-key": "repo:refs_changed", "x-hook-uuid": "h" }, false],
    ["an unknown key with X-Request-Id only", { "x-event-key": "repo:new_thing", "x-request-id": "r" }, false],
    ["an unknown key alone", { "x-event-key": "repo:new_thing" }, false],
    ["no key", { "x-hook-uuid": "h", "x-request-uuid": "u" }, false],
  ];
  for (const [name, given, cloud] of detection) {
    it(`detect: ${name} → ${cloud ? "Cloud" : "not Cloud"}`, () => {
      assert.equal(bitbucket.detect(given), cloud);
      // Never both flavours at once.
      assert.ok(!(bitbucket.detect(given) && bitbucketServer.detect(given)));
    });
  }
});

describe("bitbucket.parse, hand-made variations", () => {
  const base = fixture("push").body;
  const changes = (base.push as { changes: Record<string, unknown>[] }).changes;
  const first = changes[0];
  assert.ok(first);
  const newState = first.new as Record<string, unknown>;
  const withNew = (next: unknown): unknown => ({ ...base, push: { changes: [{ ...first, new: next }] } });

  it("no changes at all is ignored", () => {
    assert.deepEqual(bitbucket.parse("repo:push", { ...base, push: { changes: [] } }), {
      kind: "ignored",
      repository: REPOSITORY,
      reason: "push carries no changes",
    });
  });

  it("upper-case hashes are lowered; a missing message is empty", () => {
    const target = { hash: "ABCDEF".padEnd(40, "0") };
    const result = bitbucket.parse("repo:push", withNew({ ...newState, target }));
    if (result.kind !== "push") assert.fail(result.kind);
    assert.equal(result.pushes[0]?.commit, "abcdef".padEnd(40, "0"));
    assert.equal(result.pushes[0]?.commitMessage, "");
  });

  it("an actor without a nickname falls back to the display name, then null", () => {
    const byName = bitbucket.parse("repo:push", { ...base, actor: { display_name: "Grace" } });
    const nobody = bitbucket.parse("repo:push", { ...base, actor: undefined });
    assert.equal(byName.kind === "push" ? byName.pushes[0]?.pusher : "?", "Grace");
    assert.equal(nobody.kind === "push" ? nobody.pushes[0]?.pusher : "?", null);
  });

  const bad: [string, unknown][] = [
    ["not an object", "repo:push"],
    ["no repository", { ...base, repository: undefined }],
    ["empty full_name", { ...base, repository: { full_name: "" } }],
    ["no push", { ...base, push: undefined }],
    ["changes not an array", { ...base, push: { changes: {} } }],
    ["a change that is not an object", { ...base, push: { changes: [7] } }],
    ["new a string", withNew("main")],
    ["new of a Mercurial type", withNew({ ...newState, type: "named_branch" })],
    ["new without a type", withNew({ ...newState, type: undefined })],
    ["new without a name", withNew({ ...newState, name: "" })],
    ["target without a hash", withNew({ ...newState, target: {} })],
    ["target hash short", withNew({ ...newState, target: { hash: "c14c1bb" } })],
    ["one bad change among good ones", { ...base, push: { changes: [first, { ...first, new: { ...newState, target: null } }] } }],
  ];
  for (const [name, payload] of bad) {
    it(`bad_request: ${name}`, () => {
      const result = bitbucket.parse("repo:push", payload);
      assert.equal(result.kind, "bad_request");
      if (result.kind === "bad_request") assert.ok(result.message.length > 0);
    });
  }
});

describe("bitbucket.parse properties", () => {
  const events = fc.constantFrom("repo:push", "repo:updated", "pullrequest:created", "");

  it("never throws and never yields a push from arbitrary JSON", () => {
    fc.assert(
      fc.property(events, fc.json(), (event, text) => {
        assert.notEqual(bitbucket.parse(event, JSON.parse(text)).kind, "push");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws and never yields a push from arbitrary values", () => {
    fc.assert(
      fc.property(events, fc.anything(), (event, payload) => {
        assert.notEqual(bitbucket.parse(event, payload).kind, "push");
      }),
      { numRuns: 1_000 },
    );
  });

  it("never throws on real changes with one field replaced by anything", () => {
    const payloads = Object.keys(expected).map((name) => fixture(name).body);
    fc.assert(
      fc.property(
        fc.constantFrom(...payloads),
        fc.constantFrom("new", "old", "type", "name", "target"),
        fc.anything(),
        (payload, key, value) => {
          const changes = (payload.push as { changes?: Record<string, unknown>[] } | undefined)?.changes ?? [];
          const mutated = changes.map((change) =>
            key === "new" || key === "old" || !change.new ? { ...change, [key]: value } : { ...change, new: { ...(change.new as object), [key]: value } },
          );
          const result = bitbucket.parse("repo:push", { ...payload, push: { changes: mutated } });
          if (result.kind === "push") for (const p of result.pushes) assert.match(p.commit, /^[0-9a-f]{40}$/);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe("bitbucket.verify", () => {
  const secret = "s3cret-é";
  const body = Buffer.from(JSON.stringify(fixture("push").body));
  const sign = (algorithm: "sha1" | "sha256", key: string): string =>
    `${algorithm}=${createHmac(algorithm, key).update(body).digest("hex")}`;

  const cases: [string, Headers, ReturnType<typeof bitbucket.verify>][] = [
    ["sha256 in X-Hub-Signature", { "x-hub-signature": sign("sha256", secret) }, { ok: true }],
    ["by prefix: a sha1 value", { "x-hub-signature": sign("sha1", secret) }, { ok: true }],
    // An older hook without a secret sends no signature: with a secret configured, that is refused.
    ["unsigned", {}, { ok: false, reason: "missing" }],
    ["GitHub's -256 header is not Bitbucket's", { "x-hub-signature-256": sign("sha256", secret) }, { ok: false, reason: "missing" }],
    ["empty", { "x-hub-signature": "" }, { ok: false, reason: "empty" }],
    ["empty digest", { "x-hub-signature": "sha256=" }, { ok: false, reason: "empty" }],
    ["bare hex", { "x-hub-signature": sign("sha256", secret).slice(7) }, { ok: false, reason: "malformed" }],
    ["wrong secret", { "x-hub-signature": sign("sha256", "other") }, { ok: false, reason: "mismatch" }],
  ];
  for (const [name, headers, result] of cases) {
    it(name, () => assert.deepEqual(bitbucket.verify(headers, body, secret), result));
  }
});
