import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isValidDockerTag, isValidRepositoryPath } from "./docker-tag.js";

describe("isValidDockerTag", () => {
  const cases: [string, boolean][] = [
    ["latest", true],
    ["v1.2.3", true],
    ["1.0", true],
    ["_private", true],
    ["Feature_X-1", true],
    ["a".repeat(128), true],
    ["a".repeat(129), false],
    ["", false],
    [".hidden", false],
    ["-dash", false],
    ["feature/x", false],
    ["has space", false],
    ["tag:colon", false],
    ["ünicode", false],
  ];
  for (const [tag, expected] of cases) {
    it(`${JSON.stringify(tag.length > 20 ? `${tag.slice(0, 10)}…(${tag.length})` : tag)} → ${expected}`, () =>
      assert.equal(isValidDockerTag(tag), expected));
  }
});

describe("isValidRepositoryPath", () => {
  const cases: [string, boolean][] = [
    ["acme", true],
    ["hello-world", true],
    ["a__b", true],
    ["a.b_c--d", true],
    ["group/sub/app", true],
    ["Acme", false],
    ["", false],
    ["-acme", false],
    ["acme-", false],
    ["a___b", false],
    ["a..b", false],
    ["acme/", false],
    ["/acme", false],
    ["acme//hello", false],
    ["a".repeat(256), false],
  ];
  for (const [name, expected] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…` : name)} → ${expected}`, () =>
      assert.equal(isValidRepositoryPath(name), expected));
  }
});
