import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SourceType } from "./build.js";
import { matchRule, planBuilds, validateRuleInput } from "./rule-match.js";
import type { BuildRule, RuleMatch } from "./rules.js";
import { DEFAULT_RULE } from "./rules.js";

let nextId = 0;
function rule(fields: Partial<BuildRule>): BuildRule {
  nextId += 1;
  return { ...DEFAULT_RULE, buildArgs: {}, id: `rule-${nextId}`, ...fields };
}

describe("matchRule", () => {
  const cases: {
    name: string;
    rule: Partial<BuildRule>;
    sourceType?: SourceType;
    sourceName: string;
    expected: RuleMatch | undefined;
  }[] = [
    { name: "default rule on main", rule: {}, sourceName: "main", expected: { tags: ["latest"] } },
    { name: "literal: another branch", rule: {}, sourceName: "master", expected: undefined },
    { name: "literal: no prefix match", rule: {}, sourceName: "main2", expected: undefined },
    { name: "literal: wrong source type", rule: {}, sourceType: "tag", sourceName: "main", expected: undefined },
    {
      name: "literal with a slash",
      rule: { sourceName: "release/1.x", dockerTag: "release-1" },
      sourceName: "release/1.x",
      expected: { tags: ["release-1"] },
    },
    {
      name: "literal: {sourceref}",
      rule: { sourceName: "develop", dockerTag: "{sourceref}" },
      sourceName: "develop",
      expected: { tags: ["develop"] },
    },
    {
      name: "literal: {\\1} renders empty → invalid",
      rule: { sourceName: "develop", dockerTag: "{\\1}" },
      sourceName: "develop",
      expected: { invalidTag: "" },
    },
    {
      name: "regex with a group",
      rule: { sourceType: "tag", sourceName: "/^v([0-9.]+)$/", dockerTag: "{\\1}" },
      sourceType: "tag",
      sourceName: "v1.2.3",
      expected: { tags: ["1.2.3"] },
    },
    {
      name: "regex with groups and a list",
      rule: { sourceType: "tag", sourceName: "/v(\\d+)\\.(\\d+)\\.(\\d+)/", dockerTag: "{\\1}, {\\1}.{\\2} ,{\\1}.{\\2}.{\\3},latest" },
      sourceType: "tag",
      sourceName: "v2.5.1",
      expected: { tags: ["2", "2.5", "2.5.1", "latest"] },
    },
    {
      name: "regex: full match, /v1/ does not match v10",
      rule: { sourceType: "tag", sourceName: "/v1/", dockerTag: "one" },
      sourceType: "tag",
      sourceName: "v10",
      expected: undefined,
    },
    {
      name: "regex: full match, /v1/ matches v1",
      rule: { sourceType: "tag", sourceName: "/v1/", dockerTag: "one" },
      sourceType: "tag",
      sourceName: "v1",
      expected: { tags: ["one"] },
    },
    {
      name: "regex: alternation is anchored as a whole",
      rule: { sourceName: "/main|dev/", dockerTag: "{sourceref}" },
      sourceName: "mainline",
      expected: undefined,
    },
    {
      name: "regex: alternation matches each branch",
      rule: { sourceName: "/main|dev/", dockerTag: "{sourceref}" },
      sourceName: "dev",
      expected: { tags: ["dev"] },
    },
    {
      name: "regex: unmatched optional group renders empty",
      rule: { sourceName: "/feat(-(\\w+))?/", dockerTag: "feat{\\2},x" },
      sourceName: "feat",
      expected: { tags: ["feat", "x"] },
    },
    {
      name: "regex: a group beyond the regex renders empty, alone → invalid",
      rule: { sourceName: "/(main)/", dockerTag: "{\\2}" },
      sourceName: "main",
      expected: { invalidTag: "" },
    },
    {
      name: "{sourceref} with / → invalidTag, never renamed",
      rule: { sourceName: "/feature\\/.*/", dockerTag: "{sourceref}" },
      sourceName: "feature/login",
      expected: { invalidTag: "feature/login" },
    },
    {
      name: "group capturing a / → invalidTag",
      rule: { sourceName: "/feature-(.*)/", dockerTag: "latest,{\\1}" },
      sourceName: "feature-a/b",
      expected: { invalidTag: "a/b" },
    },
    {
      name: "rendered tag over 128 characters → invalidTag",
      rule: { sourceName: "/.*/", dockerTag: "{sourceref}" },
      sourceName: "b".repeat(129),
      expected: { invalidTag: "b".repeat(129) },
    },
    {
      name: "rendered tag starting with . → invalidTag",
      rule: { sourceName: "/.*/", dockerTag: "{sourceref}" },
      sourceName: ".hidden",
      expected: { invalidTag: ".hidden" },
    },
    {
      name: "comma list: trimmed, empties dropped, deduplicated in order",
      rule: { sourceName: "/.*/", dockerTag: " latest , ,{sourceref},latest,, main " },
      sourceName: "main",
      expected: { tags: ["latest", "main"] },
    },
    {
      name: "template with no tags → invalidTag",
      rule: { dockerTag: " , " },
      sourceName: "main",
      expected: { invalidTag: " , " },
    },
    {
      name: "placeholders inside literal text",
      rule: { sourceType: "tag", sourceName: "/release-(\\d+)/", dockerTag: "r{\\1}-{sourceref}" },
      sourceType: "tag",
      sourceName: "release-7",
      expected: { tags: ["r7-release-7"] },
    },
    {
      name: "a regex that does not compile matches nothing",
      rule: { sourceName: "/(unclosed/" },
      sourceName: "(unclosed",
      expected: undefined,
    },
    {
      name: "a lone / is a literal",
      rule: { sourceName: "/" },
      sourceName: "/",
      expected: { tags: ["latest"] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(matchRule(rule(c.rule), c.sourceType ?? "branch", c.sourceName), c.expected));
  }
});

describe("planBuilds", () => {
  it("rules sharing a Dockerfile and context share one build pushing the union of tags", () => {
    const a = rule({ sourceName: "main", dockerTag: "latest", cache: false, buildArgs: { A: "1", SHARED: "a" } });
    const b = rule({ sourceName: "/.*/", dockerTag: "{sourceref},latest", context: "", dockerfile: "./Dockerfile", buildArgs: { B: "2", SHARED: "b" } });
    const c = rule({ sourceName: "main", dockerTag: "debug", dockerfile: "Dockerfile.debug" });
    const d = rule({ sourceName: "main", dockerTag: "never", sourceType: "tag" });
    const { plans, invalid } = planBuilds([a, b, c, d], "branch", "main", { autobuildOnly: true });
    assert.deepEqual(invalid, []);
    assert.deepEqual(plans, [
      {
        ruleId: a.id,
        ruleIds: [a.id, b.id],
        sourceType: "branch",
        sourceName: "main",
        dockerfile: "Dockerfile",
        context: "/",
        cache: true,
        buildArgs: { A: "1", SHARED: "b", B: "2" },
        tags: ["latest", "main"],
      },
      {
        ruleId: c.id,
        ruleIds: [c.id],
        sourceType: "branch",
        sourceName: "main",
        dockerfile: "Dockerfile.debug",
        context: "/",
        cache: true,
        buildArgs: {},
        tags: ["debug"],
      },
    ]);
  });

  it("different contexts are different builds", () => {
    const a = rule({ context: "/" });
    const b = rule({ context: "/app", dockerTag: "app" });
    const { plans } = planBuilds([a, b], "branch", "main", { autobuildOnly: true });
    assert.deepEqual(plans.map((p) => [p.context, p.tags]), [["/", ["latest"]], ["/app", ["app"]]]);
  });

  it("autobuildOnly skips rules with autobuild off; manual planning keeps them", () => {
    const off = rule({ autobuild: false });
    assert.deepEqual(planBuilds([off], "branch", "main", { autobuildOnly: true }), { plans: [], invalid: [] });
    assert.equal(planBuilds([off], "branch", "main", { autobuildOnly: false }).plans.length, 1);
  });

  it("a rule rendering an invalid tag is reported and does not stop the others", () => {
    const bad = rule({ sourceName: "/.*/", dockerTag: "{sourceref}" });
    const good = rule({ sourceName: "/.*/", dockerTag: "edge" });
    const { plans, invalid } = planBuilds([bad, good], "branch", "feature/x", { autobuildOnly: true });
    assert.deepEqual(invalid, [{ ruleId: bad.id, tag: "feature/x" }]);
    assert.deepEqual(plans.map((p) => [p.ruleId, p.tags]), [[good.id, ["edge"]]]);
  });

  it("no matching rule: nothing to build", () => {
    assert.deepEqual(planBuilds([rule({})], "branch", "dev", { autobuildOnly: true }), { plans: [], invalid: [] });
  });

  it("does not share build args objects with the rules", () => {
    const a = rule({ buildArgs: { A: "1" } });
    const b = rule({ buildArgs: { B: "2" } });
    planBuilds([a, b], "branch", "main", { autobuildOnly: true });
    assert.deepEqual(a.buildArgs, { A: "1" });
  });
});

describe("validateRuleInput", () => {
  it("create fills the defaults", () => {
    assert.deepEqual(validateRuleInput({}, "create"), { ok: true, value: DEFAULT_RULE });
  });

  it("patch returns only the fields given", () => {
    assert.deepEqual(validateRuleInput({ cache: false }, "patch"), { ok: true, value: { cache: false } });
  });

  it("a full valid rule is returned as given", () => {
    const input = {
      sourceType: "tag",
      sourceName: "/^v([0-9]+)\\.([0-9]+)/",
      dockerTag: "{\\1}.{\\2},{\\1},latest",
      dockerfile: "docker/Dockerfile.prod",
      context: "/app",
      autobuild: false,
      cache: false,
      buildArgs: { NODE_ENV: "production", _X1: "" },
    };
    assert.deepEqual(validateRuleInput(input, "create"), { ok: true, value: input });
  });

  it('sourceType "Branch" (Docker Hub spelling) becomes "branch"', () => {
    assert.deepEqual(validateRuleInput({ sourceType: "Tag" }, "patch"), { ok: true, value: { sourceType: "tag" } });
  });

  const valid: [string, Record<string, unknown>][] = [
    ["branch with slash", { sourceName: "release/1.x" }],
    ["{sourceref}", { dockerTag: "{sourceref}" }],
    ["literal around placeholder", { sourceName: "/v(.*)/", dockerTag: "v{\\1}-alpine" }],
    ["context .", { context: "." }],
    ["context sub/dir", { context: "sub/dir/" }],
    ["dockerfile in subfolder", { dockerfile: "./docker/Dockerfile" }],
    ["group count through nested groups", { sourceName: "/((a)(b))/", dockerTag: "{\\3}" }],
    ["non-capturing groups do not count but the capturing one does", { sourceName: "/(?:x)(y)/", dockerTag: "{\\1}" }],
  ];
  for (const [name, input] of valid) {
    it(`accepts ${name}`, () => assert.equal(validateRuleInput(input, "create").ok, true));
  }

  const invalid: [string, unknown, "create" | "patch", RegExp][] = [
    ["not an object", [], "create", /JSON object/],
    ["null", null, "patch", /JSON object/],
    ["unknown field", { sourcetype: "branch" }, "patch", /unknown field "sourcetype"/],
    ["id", { id: "x" }, "patch", /unknown field "id"/],
    ["sourceType", { sourceType: "pr" }, "patch", /sourceType must be "branch" or "tag"/],
    ["sourceType not string", { sourceType: 1 }, "patch", /sourceType/],
    ["sourceName empty", { sourceName: "" }, "patch", /sourceName must be/],
    ["sourceName number", { sourceName: 5 }, "patch", /sourceName must be/],
    ["sourceName bad regex", { sourceName: "/(v/" }, "patch", /sourceName is not a valid regular expression/],
    ["sourceName bad ref", { sourceName: "feature branch" }, "patch", /not a valid git branch or tag name/],
    ["sourceName ..", { sourceName: "a..b" }, "patch", /not a valid git branch or tag name/],
    // The same rule as trigger bodies (git-ref.ts): git refuses these as branch or tag names, so a rule naming one never matches.
    ["sourceName option-like", { sourceName: "-x" }, "patch", /not a valid git branch or tag name/],
    ["sourceName leading /", { sourceName: "/main" }, "patch", /not a valid git branch or tag name; for a pattern, write it as \/regex\//],
    ["sourceName /", { sourceName: "/" }, "patch", /not a valid git branch or tag name/],
    ["sourceName hidden component", { sourceName: "feature/.x" }, "patch", /not a valid git branch or tag name/],
    ["sourceName //", { sourceName: "a//b" }, "patch", /not a valid git branch or tag name/],
    ["sourceName NUL", { sourceName: "a\0" }, "patch", /control characters/],
    ["dockerTag empty", { dockerTag: "" }, "patch", /at least one tag/],
    ["dockerTag only commas", { dockerTag: " , " }, "patch", /at least one tag/],
    ["dockerTag number", { dockerTag: 1 }, "patch", /dockerTag must be a string/],
    ["dockerTag invalid literal", { dockerTag: "latest,feature/x" }, "patch", /"feature\/x" is not a valid Docker tag/],
    ["dockerTag leading dot", { dockerTag: ".x" }, "patch", /not a valid Docker tag/],
    ["dockerTag unknown placeholder", { dockerTag: "{branch}" }, "patch", /unknown placeholder/],
    ["dockerTag {\\0}", { dockerTag: "{\\0}" }, "patch", /unknown placeholder/],
    ["dockerTag bad literal around placeholder", { dockerTag: "v/{sourceref}" }, "patch", /only letters, digits/],
    ["dockerTag leading dash before placeholder", { dockerTag: "-{sourceref}" }, "patch", /must not start with/],
    ["group without regex", { dockerTag: "{\\1}" }, "create", /not a \/regex\/ with groups/],
    ["group beyond the regex", { sourceName: "/v(.*)/", dockerTag: "{\\2}" }, "patch", /has 1 group/],
    ["dockerfile absolute", { dockerfile: "/Dockerfile" }, "patch", /remove the leading/],
    ["dockerfile ..", { dockerfile: "../Dockerfile" }, "patch", /remove "\.\." segments/],
    ["dockerfile folder", { dockerfile: "docker/" }, "patch", /name a file/],
    ["dockerfile .", { dockerfile: "." }, "patch", /name a file/],
    ["dockerfile empty", { dockerfile: "" }, "patch", /dockerfile must be a path/],
    ["context ..", { context: "/app/../.." }, "patch", /remove "\.\." segments/],
    ["context NUL", { context: "app\0" }, "patch", /NUL/],
    ["context empty", { context: "" }, "patch", /"\/" is its root/],
    ["autobuild", { autobuild: "yes" }, "patch", /autobuild must be true or false/],
    ["cache", { cache: 1 }, "patch", /cache must be true or false/],
    ["buildArgs array", { buildArgs: [] }, "patch", /buildArgs must be an object/],
    ["buildArgs name", { buildArgs: { "1X": "a" } }, "patch", /buildArgs name "1X"/],
    ["buildArgs value", { buildArgs: { X: 1 } }, "patch", /buildArgs "X" must be a string/],
  ];
  for (const [name, input, mode, message] of invalid) {
    it(`rejects ${name}`, () => {
      const result = validateRuleInput(input, mode);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, message);
    });
  }

  it("every rule it accepts renders valid tags or none at all", () => {
    const result = validateRuleInput({ sourceType: "tag", sourceName: "/v(\\d+)/", dockerTag: "{\\1},v{\\1}-x" }, "create");
    assert.equal(result.ok, true);
    if (result.ok) {
      const accepted: BuildRule = { ...DEFAULT_RULE, ...result.value, id: "r" };
      assert.deepEqual(matchRule(accepted, "tag", "v12"), { tags: ["12", "v12-x"] });
    }
  });
});
