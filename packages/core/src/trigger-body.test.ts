import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BuildRule } from "./rules.js";
import { DEFAULT_RULE } from "./rules.js";
import {
  listsDockerTag,
  nothingToBuildMessage,
  parseTriggerBody,
  selectTriggerTargets,
  type TriggerBodyResult,
  type TriggerRequest,
} from "./trigger-body.js";

const body = (text: string) => parseTriggerBody(Buffer.from(text, "utf8"));

describe("parseTriggerBody", () => {
  const accepted: [string, string, TriggerRequest][] = [
    ["no body (curl -X POST)", "", { kind: "autobuild" }],
    ["blank body", " \r\n", { kind: "autobuild" }],
    ["{}", "{}", { kind: "autobuild" }],
    ['{"build": true}', '{"build": true}', { kind: "autobuild" }],
    ["docker_tag", '{"docker_tag": "latest"}', { kind: "docker_tag", dockerTag: "latest" }],
    ["docker_tag with build", '{"build": true, "docker_tag": " 1.0 "}', { kind: "docker_tag", dockerTag: "1.0" }],
    [
      "Docker Hub's Branch",
      '{"source_type": "Branch", "source_name": "staging"}',
      { kind: "source", sourceType: "branch", sourceName: "staging" },
    ],
    [
      "Tag, any case",
      '{"source_type": "TAG", "source_name": "v1.2.3"}',
      { kind: "source", sourceType: "tag", sourceName: "v1.2.3" },
    ],
    [
      "a branch with slashes",
      '{"source_type": "branch", "source_name": "feature/x"}',
      { kind: "source", sourceType: "branch", sourceName: "feature/x" },
    ],
    [
      "a source and a tag",
      '{"source_type": "Tag", "source_name": "v1", "docker_tag": "stable"}',
      { kind: "source", sourceType: "tag", sourceName: "v1", dockerTag: "stable" },
    ],
  ];
  for (const [what, text, request] of accepted) {
    it(`takes ${what}`, () => assert.deepEqual(body(text), { ok: true, request }));
  }

  const refused: [string, string | Buffer, Extract<TriggerBodyResult, { ok: false }>["code"], RegExp][] = [
    ["broken JSON", "{build: true}", "invalid_json", /not valid JSON/],
    ["a form", "build=true", "invalid_json", /not valid JSON/],
    ["deep nesting", "[".repeat(200_000), "invalid_json", /not valid JSON/],
    ["not UTF-8", Buffer.from([0x7b, 0xff, 0x7d]), "bad_request", /UTF-8/],
    ["an array", "[]", "bad_request", /JSON object/],
    ["null", "null", "bad_request", /JSON object/],
    ["a string", '"build"', "bad_request", /JSON object/],
    ["a misspelt field", '{"dockertag": "latest"}', "validation_failed", /unknown field "dockertag"/],
    ['"build": false', '{"build": false}', "validation_failed", /"build" must be true/],
    ['"build": "yes"', '{"build": "yes"}', "validation_failed", /"build" must be true/],
    ["an empty docker_tag", '{"docker_tag": ""}', "validation_failed", /"docker_tag"/],
    ["a docker_tag list", '{"docker_tag": "a,b"}', "validation_failed", /one tag/],
    ["a number for docker_tag", '{"docker_tag": 1}', "validation_failed", /"docker_tag"/],
    ["source_type alone", '{"source_type": "Branch"}', "validation_failed", /together/],
    ["source_name alone", '{"source_name": "main"}', "validation_failed", /together/],
    ["another source type", '{"source_type": "Commit", "source_name": "main"}', "validation_failed", /"Branch" or "Tag"/],
    ["an empty name", '{"source_type": "Branch", "source_name": ""}', "validation_failed", /"source_name"/],
    ["a pattern", '{"source_type": "Tag", "source_name": "/^v.*$/"}', "validation_failed", /not a \/pattern\//],
    ["an option-like name", '{"source_type": "Branch", "source_name": "--upload-pack=x"}', "validation_failed", /not a valid git/],
    ["a name with ..", '{"source_type": "Branch", "source_name": "a..b"}', "validation_failed", /not a valid git/],
    ["a leading /", '{"source_type": "Branch", "source_name": "/main"}', "validation_failed", /not a valid git/],
    ["a hidden component", '{"source_type": "Tag", "source_name": "v1/.x"}', "validation_failed", /not a valid git/],
    ["a name with a space", '{"source_type": "Branch", "source_name": "a b"}', "validation_failed", /not a valid git/],
    ["a control character", '{"source_type": "Branch", "source_name": "a\\u0000"}', "validation_failed", /control/],
  ];
  for (const [what, text, code, message] of refused) {
    it(`refuses ${what}`, () => {
      const result = typeof text === "string" ? body(text) : parseTriggerBody(text);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, code);
      assert.match(result.message, message);
    });
  }
});

function rule(id: string, fields: Partial<BuildRule>): BuildRule {
  return { ...DEFAULT_RULE, id, ...fields };
}

describe("selectTriggerTargets", () => {
  const rules: BuildRule[] = [
    rule("main", {}),
    rule("main-debug", { dockerfile: "Dockerfile.debug", dockerTag: "debug,latest-debug" }),
    rule("staging", { sourceName: "staging", dockerTag: "staging", autobuild: false }),
    rule("versions", { sourceType: "tag", sourceName: "/^v([0-9.]+)$/", dockerTag: "{\\1},latest" }),
    rule("stable", { sourceType: "tag", sourceName: "stable", dockerTag: "stable" }),
  ];

  /** The targets, and the ids of the rules skipped. */
  type Expected = { targets: ReturnType<typeof selectTriggerTargets>["targets"]; skipped: string[] };
  const cases: [string, TriggerRequest, Expected][] = [
    [
      "autobuild: each autobuild rule at its own branch or tag; patterns skipped",
      { kind: "autobuild" },
      {
        targets: [
          { sourceType: "branch", sourceName: "main", ruleIds: ["main", "main-debug"] },
          { sourceType: "tag", sourceName: "stable", ruleIds: ["stable"] },
        ],
        skipped: ["versions"],
      },
    ],
    [
      "docker_tag: the rules listing the tag, autobuild or not",
      { kind: "docker_tag", dockerTag: "staging" },
      { targets: [{ sourceType: "branch", sourceName: "staging", ruleIds: ["staging"] }], skipped: [] },
    ],
    [
      "docker_tag in a comma list",
      { kind: "docker_tag", dockerTag: "latest-debug" },
      { targets: [{ sourceType: "branch", sourceName: "main", ruleIds: ["main-debug"] }], skipped: [] },
    ],
    [
      "docker_tag that only a pattern rule lists",
      { kind: "docker_tag", dockerTag: "latest" },
      {
        targets: [{ sourceType: "branch", sourceName: "main", ruleIds: ["main"] }],
        skipped: ["versions"],
      },
    ],
    ["docker_tag no rule lists", { kind: "docker_tag", dockerTag: "nope" }, { targets: [], skipped: [] }],
    [
      "source: the ref through every rule",
      { kind: "source", sourceType: "tag", sourceName: "v1.2" },
      { targets: [{ sourceType: "tag", sourceName: "v1.2" }], skipped: [] },
    ],
    [
      "source with docker_tag: only the rules listing it",
      { kind: "source", sourceType: "tag", sourceName: "v1.2", dockerTag: "latest" },
      { targets: [{ sourceType: "tag", sourceName: "v1.2", ruleIds: ["main", "versions"] }], skipped: [] },
    ],
  ];
  for (const [what, request, expected] of cases) {
    it(what, () => {
      const { targets, skipped } = selectTriggerTargets(rules, request);
      assert.deepEqual({ targets, skipped: skipped.map((s) => s.ruleId) }, expected);
    });
  }

  it("says how to build a skipped pattern rule", () => {
    const [skipped] = selectTriggerTargets(rules, { kind: "autobuild" }).skipped;
    assert.match(skipped?.reason ?? "", /tag \/\^v\(\[0-9\.\]\+\)\$\/ matches a pattern.*"source_type": "Tag"/);
  });

  it("lists a tag only as a whole part of the template", () => {
    assert.equal(listsDockerTag({ dockerTag: "{\\1}, latest" }, "latest"), true);
    assert.equal(listsDockerTag({ dockerTag: "latest-debug" }, "latest"), false);
    assert.equal(listsDockerTag({ dockerTag: "{sourceref}" }, "{sourceref}"), true);
  });
});

describe("nothingToBuildMessage", () => {
  const patternOnly = [rule("versions", { sourceType: "tag", sourceName: "/^v.*$/" })];
  it("names the pattern rules it skipped", () => {
    const request: TriggerRequest = { kind: "autobuild" };
    const message = nothingToBuildMessage("acme/hello", request, selectTriggerTargets(patternOnly, request));
    assert.match(message, /^nothing to build: no build rule of acme\/hello with autobuild on names one branch or tag; .*matches a pattern/);
  });
  it("names the tag and the ref asked for", () => {
    assert.match(
      nothingToBuildMessage("acme/hello", { kind: "docker_tag", dockerTag: "x" }, { targets: [], skipped: [] }),
      /with the tag "x"/,
    );
    assert.match(
      nothingToBuildMessage("acme/hello", { kind: "source", sourceType: "branch", sourceName: "dev" }, { targets: [], skipped: [] }),
      /matches branch "dev"$/,
    );
  });
});
