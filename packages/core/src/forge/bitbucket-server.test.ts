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

const FIXTURES = new URL("../../fixtures/bitbucket-server/", import.meta.url);

/** A delivery as Bitbucket Server sent it, its header names lower-cased as node:http gives them. */
function fixture(name: string): Fixture {
  const { headers, body } = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
  return { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body };
}

function push(fields: Omit<PushEvent, "provider" | "sourceType" | "sourceName">): PushEvent {
  const [, kind = "", sourceName = ""] = /^refs\/(heads|tags)\/(.*)$/.exec(fields.ref) ?? [];
  return { provider: "bitbucket-server", sourceType: kind === "tags" ? "tag" : "branch", sourceName, ...fields };
}

const expected: Record<string, ParseResult> = {
  "refs-changed": {
    kind: "push",
    repository: "PROJ/repository",
    // The documented payload carries no commit, hence no message.
    pushes: [push({ repository: "PROJ/repository", ref: "refs/heads/master", commit: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc", commitMessage: "", pusher: "admin" })],
  },
  "refs-changed-data-center": {
    kind: "push",
    repository: "DEV/deployment-automation",
    pushes: [
      push({
        repository: "DEV/deployment-automation",
        ref: "refs/heads/renovate/all",
        commit: "76797d54bca87db6d1e3e82ee40622c7908aa514",
        commitMessage: "chore(deps): update all",
        pusher: "renovatebot",
      }),
    ],
  },
  "refs-changed-personal-tag": {
    kind: "push",
    repository: "~JSMITH/dotfiles",
    pushes: [
      {
        ...push({ repository: "~JSMITH/dotfiles", ref: "refs/tags/release/2.0", commit: "5b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c", commitMessage: "", pusher: "jsmith" }),
        // Nothing in the payload says whether toHash is a commit or an annotated tag's object.
        commitMayBeTagObject: true,
      },
    ],
  },
  "refs-changed-several": {
    kind: "push",
    repository: "DEV/deployment-automation",
    pushes: [
      push({ repository: "DEV/deployment-automation", ref: "refs/tags/v1.2.0", commit: "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a", commitMessage: "Release 1.2.0", pusher: "admin" }),
      push({ repository: "DEV/deployment-automation", ref: "refs/heads/main", commit: "e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e", commitMessage: "Start 1.3.0 development", pusher: "admin" }),
    ],
  },
  "refs-changed-delete": { kind: "ignored", repository: "PROJ/repository", reason: "deletion" },
  "diagnostics-ping": { kind: "ping", repository: null },
  "pr-opened": { kind: "ignored", repository: null, reason: 'event "pr:opened" builds nothing' },
};

describe("bitbucket-server fixtures", () => {
  it("every fixture has an expected result", () => {
    const names = readdirSync(FIXTURES).filter((file) => file.endsWith(".json")).map((file) => file.slice(0, -5));
    assert.deepEqual(names.sort(), Object.keys(expected).sort());
  });

  for (const [name, result] of Object.entries(expected)) {
    it(`${name}: detected, parsed`, () => {
      const { headers, body } = fixture(name);
      assert.equal(detectForge(headers), bitbucketServer);
      const event = bitbucketServer.event(headers);
      assert.ok(event !== undefined);
      assert.deepEqual(bitbucketServer.parse(event, body), result);
    });
  }
});

describe("bitbucket-server headers", () => {
  it("deliveryKey is X-Request-Id", () => {
    assert.equal(bitbucketServer.deliveryKey(fixture("refs-changed").headers), "3d1f9a2c-6b4e-4c85-a7d0-e2b8f5c1a946");
    assert.equal(bitbucketServer.deliveryKey({ "x-request-uuid": "u" }), undefined);
  });

  const detection: [string, Headers, boolean][] = [
    ["repo:refs_changed alone", { "x-event-key": "repo:refs_changed" }, true],
    ["diagnostics:ping alone", { "x-event-key": "diagnostics:ping" }, true],
    ["a pull request key", { "x-event-key": "pr:merged" }, true],
    ["a mirror key", { "x-event-key": "mirror:repo_synchronized" }, true],
    ["an unknown key with X-Request-Id", { "x-event-key": "repo:new_thing", "x-request-id": "r" }, true],
    ["a Cloud key with X-Request-Id", { "x-event-key": "repo:push", "x-request-id": "r" }, false],
    ["an unknown key with Cloud's X-Hook-UUID and a proxy's X-Request-Id", { "x-event-key": "repo:x", "x-hook-uuid": "h", "x-request-id": "r" }, false],
  ];
  for (const [name, given, server] of detection) {
    it(`detect: ${name} → ${server ? "Server" : "not Server"}`, () => {
      assert.equal(bitbucketServer.detect(given), server);
      assert.ok(!(bitbucket.detect(given) && bitbucketServer.detect(given)));
    });
  }

  it("diagnostics:ping is the one event accepted unsigned", () => {
    assert.deepEqual([...(bitbucketServer.unsignedEvents ?? [])], ["diagnostics:ping"]);
  });
});

describe("bitbucket-server.parse, hand-made variations", () => {
  const base = fixture("refs-changed").body;
  const [first] = base.changes as Record<string, unknown>[];
  assert.ok(first);
  const withChange = (fields: Record<string, unknown>): unknown => ({ ...base, changes: [{ ...first, ...fields }] });

  it("a ping answers ping whatever its body: empty, absent, or not JSON", () => {
    for (const payload of [undefined, null, "", {}, [], { test: true }, 42]) {
      assert.deepEqual(bitbucketServer.parse("diagnostics:ping", payload), { kind: "ping", repository: null });
    }
  });

  it("a change without refId falls back to ref.id", () => {
    const { refId: _drop, ...rest } = first;
    const result = bitbucketServer.parse("repo:refs_changed", { ...base, changes: [rest] });
    assert.equal(result.kind === "push" ? result.pushes[0]?.ref : result.kind, "refs/heads/master");
  });

  it("an ADD with an all-zero toHash is a deletion all the same", () => {
    assert.deepEqual(bitbucketServer.parse("repo:refs_changed", withChange({ type: "ADD", toHash: "0".repeat(40) })), {
      kind: "ignored",
      repository: "PROJ/repository",
      reason: "deletion",
    });
  });

  it("a DELETE needs no valid toHash", () => {
    assert.equal(bitbucketServer.parse("repo:refs_changed", withChange({ type: "DELETE", toHash: null })).kind, "ignored");
  });

  it("no changes at all is ignored", () => {
    assert.deepEqual(bitbucketServer.parse("repo:refs_changed", { ...base, changes: [] }), {
      kind: "ignored",
      repository: "PROJ/repository",
      reason: "push carries no changes",
    });
  });

  it("a repository without links is fine; an actor without a name gives a null pusher", () => {
    const result = bitbucketServer.parse("repo:refs_changed", { ...base, actor: { displayName: "Someone" } });
    assert.equal(result.kind === "push" ? result.pushes[0]?.pusher : result.kind, null);
  });

  it("a tag whose commit the payload carries is known to be a commit", () => {
    const result = bitbucketServer.parse("repo:refs_changed", fixture("refs-changed-several").body);
    assert.equal(result.kind === "push" ? result.pushes[0]?.commitMayBeTagObject : result.kind, undefined);
  });

  const bad: [string, unknown][] = [
    ["not an object", "refs"],
    ["no repository", { ...base, repository: undefined }],
    ["no project key", { ...base, repository: { slug: "repository", project: {} } }],
    ["no slug", { ...base, repository: { project: { key: "PROJ" } } }],
    ["no changes", { ...base, changes: undefined }],
    ["a change that is not an object", { ...base, changes: ["refs/heads/master"] }],
    ["an unknown change type", withChange({ type: "RENAME" })],
    ["a change type that is not a string", withChange({ type: 1 })],
    ["no ref", withChange({ refId: undefined, ref: undefined })],
    ["a pull request ref", withChange({ refId: "refs/pull-requests/1/from" })],
    ["toHash short", withChange({ toHash: "178864a" })],
    ["toHash missing", withChange({ toHash: undefined })],
  ];
  for (const [name, payload] of bad) {
    it(`bad_request: ${name}`, () => {
      const result = bitbucketServer.parse("repo:refs_changed", payload);
      assert.equal(result.kind, "bad_request");
      if (result.kind === "bad_request") assert.ok(result.message.length > 0);
    });
  }
});

describe("bitbucket-server.parse properties", () => {
  const events = fc.constantFrom("repo:refs_changed", "diagnostics:ping", "pr:opened", "");

  it("never throws and never yields a push from arbitrary JSON", () => {
    fc.assert(
      fc.property(events, fc.json(), (event, text) => {
        assert.notEqual(bitbucketServer.parse(event, JSON.parse(text)).kind, "push");
      }),
      { numRuns: 2_000 },
    );
  });

  it("never throws and never yields a push from arbitrary values", () => {
    fc.assert(
      fc.property(events, fc.anything(), (event, payload) => {
        assert.notEqual(bitbucketServer.parse(event, payload).kind, "push");
      }),
      { numRuns: 1_000 },
    );
  });

  it("an unsigned event never yields a push, whatever its payload", () => {
    const real = Object.keys(expected).map((name) => fixture(name).body);
    fc.assert(
      fc.property(fc.constantFrom(...(bitbucketServer.unsignedEvents ?? [])), fc.oneof(fc.anything(), fc.constantFrom(...real)), (event, payload) => {
        assert.equal(bitbucketServer.parse(event, payload).kind, "ping");
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on real changes with one field replaced by anything", () => {
    const payloads = Object.keys(expected).map((name) => fixture(name).body);
    fc.assert(
      fc.property(
        fc.constantFrom(...payloads),
        fc.constantFrom("refId", "ref", "toHash", "type", "fromHash"),
        fc.anything(),
        (payload, key, value) => {
          const changes = Array.isArray(payload.changes) ? (payload.changes as Record<string, unknown>[]) : [];
          const result = bitbucketServer.parse("repo:refs_changed", { ...payload, changes: changes.map((c) => ({ ...c, [key]: value })) });
          if (result.kind === "push") for (const p of result.pushes) assert.match(p.commit, /^[0-9a-f]{40}$/);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe("bitbucket-server.verify", () => {
  const secret = "s3cret-é";
  const body = Buffer.from(JSON.stringify(fixture("refs-changed").body));
  const sign = (key: string): string => `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  const cases: [string, Headers, ReturnType<typeof bitbucketServer.verify>][] = [
    ["sha256 X-Hub-Signature", { "x-hub-signature": sign(secret) }, { ok: true }],
    ["wrong secret", { "x-hub-signature": sign("other") }, { ok: false, reason: "mismatch" }],
    ["unsigned", {}, { ok: false, reason: "missing" }],
    ["empty digest", { "x-hub-signature": "sha256=" }, { ok: false, reason: "empty" }],
    ["Basic auth with the secret as password", { authorization: basic("slipway", secret) }, { ok: true }],
    ["Basic auth, password with a colon", { authorization: basic("u", `a:${secret}`) }, { ok: false, reason: "mismatch" }],
    ["Basic auth, wrong password", { authorization: basic("slipway", "other") }, { ok: false, reason: "mismatch" }],
    ["Basic auth, empty password", { authorization: basic("slipway", "") }, { ok: false, reason: "empty" }],
    ["Basic auth, no colon", { authorization: `Basic ${Buffer.from(secret).toString("base64")}` }, { ok: false, reason: "malformed" }],
    ["Bearer is not Basic", { authorization: `Bearer ${secret}` }, { ok: false, reason: "malformed" }],
    ["the signature decides when present", { "x-hub-signature": sign("other"), authorization: basic("u", secret) }, { ok: false, reason: "mismatch" }],
  ];
  for (const [name, headers, result] of cases) {
    it(name, () => assert.deepEqual(bitbucketServer.verify(headers, body, secret), result));
  }

  it("a secret containing a colon works as a Basic password", () => {
    assert.deepEqual(bitbucketServer.verify({ authorization: basic("u", "a:b") }, body, "a:b"), { ok: true });
  });
});
