import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { findTestFiles, matchesFilter } from "./find-test-files.js";

describe("matchesFilter", () => {
  const file = "packages/core/dist/forge/github.test.js";
  const cases: [filter: string, expected: boolean][] = [
    ["packages/core", true],
    ["packages/core/", true],
    ["./packages/core", true],
    ["packages/cor", false],
    ["packages/core/src/forge/github.test.ts", true],
    ["packages/core/dist/forge/github.test.js", true],
    ["core", true],
    ["forge", true],
    ["github", true],
    ["test/", false],
    ["services", false],
    ["", true],
  ];
  for (const [filter, expected] of cases) {
    it(`${JSON.stringify(filter)} → ${expected}`, () => assert.equal(matchesFilter(file, filter), expected));
  }
});

describe("findTestFiles", () => {
  it("lists the compiled tests of every workspace that still have a source, sorted", async () => {
    const root = await mkdtemp(join(process.env["SLIPWAY_TEST_TMP"] ?? tmpdir(), "find-tests-"));
    try {
      await writeFile(join(root, "package.json"), JSON.stringify({ workspaces: ["packages/a", "test"] }));
      const files = [
        "packages/a/src/x.test.ts",
        "packages/a/dist/x.test.js",
        "packages/a/dist/x.js",
        "packages/a/dist/stale.test.js", // its source was deleted
        "test/src/deep/e2e.test.ts",
        "test/dist/deep/e2e.test.js",
        "test/node_modules/dep/dist/dep.test.js",
        "other/dist/y.test.js", // not a workspace
      ];
      for (const f of files) {
        await mkdir(dirname(join(root, f)), { recursive: true });
        await writeFile(join(root, f), "");
      }
      assert.deepEqual(findTestFiles(root), ["packages/a/dist/x.test.js", "test/dist/deep/e2e.test.js"]);
      assert.deepEqual(findTestFiles(root, ["test/"]), ["test/dist/deep/e2e.test.js"]);
      assert.deepEqual(findTestFiles(root, [join(root, "packages/a")]), ["packages/a/dist/x.test.js"]);
      assert.deepEqual(findTestFiles(root, ["e2e", "x.test"]), ["packages/a/dist/x.test.js", "test/dist/deep/e2e.test.js"]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
