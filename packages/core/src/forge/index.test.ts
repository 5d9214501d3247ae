import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FORGES, PROVIDERS, detectForge, forgeFor, github, headerValue } from "./index.js";

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

  it("forgeFor", () => {
    assert.equal(forgeFor("github"), github);
    for (const provider of PROVIDERS) {
      const forge = forgeFor(provider);
      if (forge !== undefined) assert.equal(forge.provider, provider);
    }
  });

  it("one forge per provider", () => {
    const providers = FORGES.map((forge) => forge.provider);
    assert.equal(new Set(providers).size, providers.length);
  });
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
