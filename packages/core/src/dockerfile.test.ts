import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { declaredBuildArgs } from "./dockerfile.js";

describe("declaredBuildArgs", () => {
  const cases: [string, string, string[]][] = [
    ["none", "FROM scratch\nRUN echo hi\n", []],
    ["plain and defaulted", "FROM x\nARG SOURCE_COMMIT\narg DOCKER_TAG=latest\n", ["SOURCE_COMMIT", "DOCKER_TAG"]],
    ["several on one line", "ARG A B=1 C\n", ["A", "B", "C"]],
    ["continued lines", "ARG A \\\n  B\n", ["A", "B"]],
    ["indented, CRLF", "FROM x\r\n  ARG COMMIT_MSG\r\n", ["COMMIT_MSG"]],
    ["not an ARG", "RUN echo ARG X\n# ARG Y\nENV Z=1\n", []],
    ["invalid names skipped", "ARG 1BAD good\n", ["good"]],
  ];
  for (const [name, dockerfile, expected] of cases) {
    it(name, () => assert.deepEqual([...declaredBuildArgs(dockerfile)], expected));
  }
});
