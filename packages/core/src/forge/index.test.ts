import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { FORGES, PROVIDERS, bitbucket, bitbucketServer, detectForge, forgeFor, gitea, github, gitlab, headerValue, isProvider } from "./index.js";
import type { Headers, Provider } from "./index.js";

const FIXTURES = new URL("../../fixtures/", import.meta.url);

/** Every fixture's headers, by the provider whose folder it is in. */
function fixtureHeaders(): [string, Provider, Headers][] {
  const folders = readdirSync(FIXTURES, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  return folders.flatMap(({ name: provider }) => {
    assert.ok(isProvider(provider), `fixtures/${provider} is not named after a provider`);
    const folder = new URL(`${provider}/`, FIXTURES);
    return readdirSync(folder)
      .filter((file) => file.endsWith(".json"))
      .map((file): [string, Provider, Headers] => {
        const { headers } = JSON.parse(readFileSync(new URL(file, folder), "utf8")) as { headers: Record<string, string> };
        return [`${provider}/${file}`, provider, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))];
      });
  });
}

describe("forge registry", () => {
  it("detects GitHub by its event header", () => {
    assert.equal(detectForge({ "x-github-event": "push", "x-github-delivery": "d" }), github);
  });

  it("does not take Gitea, Gogs or Forgejo deliveries for GitHub", () => {
    for (const header of ["x-gitea-event", "x-gogs-event", "x-forgejo-event"]) {
      assert.notEqual(detectForge({ "x-github-event": "push", [header]: "push" }), github);
    }
  });

  it("answers undefined for headers no forge sends", () => {
    assert.equal(detectForge({ "content-type": "application/json" }), undefined);
  });

  it("forgeFor: every provider has its forge", () => {
    for (const provider of PROVIDERS) assert.equal(forgeFor(provider)?.provider, provider);
  });

  it("detection order: the forges imitating GitHub's headers first", () => {
    assert.deepEqual(FORGES, [gitea, gitlab, bitbucketServer, bitbucket, github]);
  });

  it("takes Gitea, Forgejo and Gogs deliveries for gitea, GitHub's headers and all", () => {
    const imitation = { "x-github-event": "push", "x-github-delivery": "d", "x-hub-signature-256": "sha256=00" };
    for (const header of ["x-gitea-event", "x-gogs-event", "x-forgejo-event"]) {
      assert.equal(detectForge({ ...imitation, [header]: "push" }), gitea);
    }
  });

  it("tells Bitbucket Cloud from Server", () => {
    assert.equal(detectForge({ "x-event-key": "repo:push", "x-request-uuid": "u" }), bitbucket);
    assert.equal(detectForge({ "x-event-key": "repo:refs_changed", "x-request-id": "r" }), bitbucketServer);
    assert.equal(detectForge({ "x-event-key": "diagnostics:ping" }), bitbucketServer);
  });

  it("one forge per provider", () => {
    const providers = FORGES.map((forge) => forge.provider);
    assert.equal(new Set(providers).size, providers.length);
  });
});

describe("detectForge over every fixture", () => {
  const all = fixtureHeaders();

  it("there are fixtures for every forge but GitHub (whose come from @octokit/webhooks-examples)", () => {
    const covered = new Set(all.map(([, provider]) => provider));
    assert.deepEqual([...covered].sort(), PROVIDERS.filter((p) => p !== "github").sort());
  });

  for (const [name, provider, headers] of all) {
    it(`${name} → ${provider}; exactly one forge claims it`, () => {
      assert.equal(detectForge(headers)?.provider, provider);
      assert.deepEqual(FORGES.filter((forge) => forge.detect(headers)).map((forge) => forge.provider), [provider]);
    });
  }
});

describe("headerValue", () => {
  const cases: [Parameters<typeof headerValue>[0], string, string | undefined][] = [
    [{ "x-a": "1" }, "x-a", "1"],
    [{ "x-a": "1" }, "X-A", "1"],
    [{ "X-A": "1" }, "x-a", "1"],
    [{ "x-a": ["1", "2"] }, "x-a", "1"],
    [{ "x-a": [] }, "x-a", undefined],
    [{ "x-a": undefined }, "x-a", undefined],
    [{}, "x-a", undefined],
    [{ "x-a": "" }, "x-a", ""],
  ];
  for (const [headers, name, expected] of cases) {
    it(`${JSON.stringify(headers)} ${name} → ${String(expected)}`, () => assert.equal(headerValue(headers, name), expected));
  }
});
