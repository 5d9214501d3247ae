import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasControlCharacters, isSourcePattern, isValidRefName, parseSourceType, toSourcePattern } from "./git-ref.js";

describe("isValidRefName", () => {
  // Each verdict is git's (2.x): `git branch <name>` and `git tag <name>` agree on all of them.
  const valid = ["main", "release/1.x", "v1.2.3", "feature/JIRA-12_x", "a-b", "x@y", "a.b", "a.lock.b", "née", "@"];
  for (const name of valid) it(`takes ${JSON.stringify(name)}`, () => assert.equal(isValidRefName(name), true));

  const invalid: [string, string][] = [
    ["", "empty"],
    ["-x", "a leading - reads as an option"],
    ["--upload-pack=x", "an option"],
    ["/main", "a leading /"],
    ["main/", "a trailing /"],
    ["a//b", "an empty component"],
    ["a..b", ".."],
    [".hidden", "a component starting with ."],
    ["feature/.x", "a later component starting with ."],
    ["main.", "a trailing ."],
    ["main.lock", "ending in .lock"],
    ["a.lock/b", "a component ending in .lock"],
    ["a@{1}", "@{"],
    ["a b", "a space"],
    ["a\tb", "a tab"],
    ["a\0b", "NUL"],
    ["a\u007fb", "DEL"],
    ...[..."~^:?*[\\"].map((c): [string, string] => [`a${c}b`, c]),
  ];
  for (const [name, why] of invalid) {
    it(`refuses ${JSON.stringify(name)}: ${why}`, () => assert.equal(isValidRefName(name), false));
  }
});

describe("source patterns", () => {
  const cases: [string, string | undefined][] = [
    ["/^v.*$/", "^v.*$"],
    ["//", ""],
    ["/", undefined],
    ["/main", undefined],
    ["main", undefined],
  ];
  for (const [name, body] of cases) {
    it(`${JSON.stringify(name)} is ${body === undefined ? "a name" : "a pattern"}`, () => {
      assert.equal(toSourcePattern(name), body);
      assert.equal(isSourcePattern(name), body !== undefined);
    });
  }
});

describe("parseSourceType", () => {
  const cases: [unknown, string | undefined][] = [
    ["branch", "branch"],
    ["Branch", "branch"],
    ["TAG", "tag"],
    ["commit", undefined],
    [1, undefined],
    [undefined, undefined],
  ];
  for (const [value, type] of cases) it(`${String(value)} → ${String(type)}`, () => assert.equal(parseSourceType(value), type));
});

describe("hasControlCharacters", () => {
  it("sees NUL, newlines and DEL, not other text", () => {
    for (const s of ["a\0", "a\nb", "\u001b[0m", "x\u007f"]) assert.equal(hasControlCharacters(s), true, JSON.stringify(s));
    for (const s of ["", "main", "née", "a b"]) assert.equal(hasControlCharacters(s), false, JSON.stringify(s));
  });
});
