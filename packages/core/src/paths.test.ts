import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveInside } from "./paths.js";

describe("resolveInside", () => {
  const cases: [string, string, string | undefined][] = [
    ["/work/clone", "/", "/work/clone"],
    ["/work/clone", "", "/work/clone"],
    ["/work/clone", ".", "/work/clone"],
    ["/work/clone", "Dockerfile", "/work/clone/Dockerfile"],
    ["/work/clone", "/app", "/work/clone/app"],
    ["/work/clone", "//app//sub/", "/work/clone/app/sub"],
    ["/work/clone", "./app/./Dockerfile", "/work/clone/app/Dockerfile"],
    ["/work/clone", "app/../Dockerfile", "/work/clone/Dockerfile"],
    ["/work/clone/", "app", "/work/clone/app"],
    ["/work/clone", "..", undefined],
    ["/work/clone", "../clone2", undefined],
    ["/work/clone", "app/../../etc/passwd", undefined],
    ["/work/clone", "/../etc", undefined],
    ["/work/clone", "a\0b", undefined],
    ["relative/root", "a", undefined],
    ["/", "etc", "/etc"],
    ["/", "..", "/"],
  ];
  for (const [root, relative, expected] of cases) {
    it(`${root} + ${JSON.stringify(relative)} → ${String(expected)}`, () =>
      assert.equal(resolveInside(root, relative), expected));
  }
});
