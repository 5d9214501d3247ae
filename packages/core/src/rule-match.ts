import { posix } from "node:path";
import type { SourceType } from "./build.js";
import { isValidDockerTag } from "./docker-tag.js";
import { hasControlCharacters, isValidRefName, MAX_SOURCE_NAME, parseSourceType, toSourcePattern } from "./git-ref.js";
import type { BuildPlan, BuildRule, RuleInput, RuleMatch } from "./rules.js";
import { DEFAULT_RULE } from "./rules.js";

/** `{sourceref}` or `{\1}`…`{\9}`. */
const PLACEHOLDER = /\{sourceref\}|\{\\([1-9])\}/g;

/** Anchored so the whole name must match: `/v1/` never matches `v10`. */
function compileFullMatch(body: string): RegExp {
  return new RegExp(`^(?:${body})$`);
}

/**
 * Matches one rule against a branch or tag and renders its tags.
 * Returns undefined when the rule does not apply. A rule whose regex does not compile
 * (stored before validation existed) matches nothing.
 */
export function matchRule(
  rule: BuildRule,
  sourceType: SourceType,
  sourceName: string,
): RuleMatch | undefined {
  if (rule.sourceType !== sourceType) return undefined;
  const body = toSourcePattern(rule.sourceName);
  let groups: readonly (string | undefined)[] = [];
  if (body === undefined) {
    if (rule.sourceName !== sourceName) return undefined;
  } else {
    let pattern: RegExp;
    try {
      pattern = compileFullMatch(body);
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
    const match = pattern.exec(sourceName);
    if (match === null) return undefined;
    groups = match;
  }
  return renderTags(rule.dockerTag, sourceName, groups);
}

function templateParts(template: string): string[] {
  return template
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function renderTags(
  template: string,
  sourceName: string,
  groups: readonly (string | undefined)[],
): RuleMatch {
  const parts = templateParts(template);
  if (parts.length === 0) return { invalidTag: template };
  const tags: string[] = [];
  for (const part of parts) {
    const tag = part.replace(PLACEHOLDER, (_whole, index: string | undefined) =>
      index === undefined ? sourceName : (groups[Number(index)] ?? ""),
    );
    // Never rename a tag to make it fit: a surprising tag is worse than a failed match.
    if (!isValidDockerTag(tag)) return { invalidTag: tag };
    if (!tags.includes(tag)) tags.push(tag);
  }
  return { tags };
}

export interface PlanOptions {
  /** Only rules with `autobuild` on (pushes); off for manual builds and triggers naming a ref. */
  autobuildOnly: boolean;
}

export interface PlanResult {
  plans: BuildPlan[];
  /** Rules that matched but render a tag Docker refuses. */
  invalid: { ruleId: string; tag: string }[];
}

/** "/", "", "." and "./" all name the repository root. */
function pathKey(path: string): string {
  const normal = posix.normalize(path.replace(/^\/+/, "") || ".");
  return normal.replace(/\/+$/, "") || ".";
}

/**
 * The builds a branch or tag starts: matching rules that share a Dockerfile and context
 * share one build pushing all their tags, so one image is built once. `cache` is on when
 * any of them has it; build args merge in rule order (a later rule wins on a clash).
 */
export function planBuilds(
  rules: readonly BuildRule[],
  sourceType: SourceType,
  sourceName: string,
  options: PlanOptions,
): PlanResult {
  const plans = new Map<string, BuildPlan>();
  const invalid: { ruleId: string; tag: string }[] = [];
  for (const rule of rules) {
    if (options.autobuildOnly && !rule.autobuild) continue;
    const match = matchRule(rule, sourceType, sourceName);
    if (match === undefined) continue;
    if ("invalidTag" in match) {
      invalid.push({ ruleId: rule.id, tag: match.invalidTag });
      continue;
    }
    const key = JSON.stringify([pathKey(rule.dockerfile), pathKey(rule.context)]);
    const plan = plans.get(key);
    if (plan === undefined) {
      plans.set(key, {
        ruleId: rule.id,
        ruleIds: [rule.id],
        sourceType,
        sourceName,
        dockerfile: rule.dockerfile,
        context: rule.context,
        cache: rule.cache,
        buildArgs: { ...rule.buildArgs },
        tags: [...match.tags],
      });
      continue;
    }
    plan.ruleIds.push(rule.id);
    plan.cache ||= rule.cache;
    Object.assign(plan.buildArgs, rule.buildArgs);
    for (const tag of match.tags) if (!plan.tags.includes(tag)) plan.tags.push(tag);
  }
  return { plans: [...plans.values()], invalid };
}

// ---------------------------------------------------------------------------------------
// Validation of rule input (API bodies).

export type RuleValidation =
  | { ok: true; value: Partial<RuleInput> }
  | { ok: false; message: string };

const RULE_FIELDS: readonly (keyof RuleInput)[] = [
  "sourceType",
  "sourceName",
  "dockerTag",
  "dockerfile",
  "context",
  "autobuild",
  "cache",
  "buildArgs",
];

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAG_CHARS = /^[A-Za-z0-9_.-]*$/;
const TAG_FIRST = /^[A-Za-z0-9_]/;
const MAX_PATH = 1024;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a rule body from the API. `create` fills what is missing from DEFAULT_RULE and
 * returns a whole RuleInput; `patch` returns only the fields given. Checks that need two
 * fields (`{\2}` needs a regex with two groups) run when both are in `input`: to check a
 * patch fully, validate the stored rule merged with the patch in `create` mode.
 */
export function validateRuleInput(input: unknown, mode: "create" | "patch"): RuleValidation {
  try {
    return { ok: true, value: checkRuleInput(input, mode) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, message: err.message };
    throw err;
  }
}

function checkRuleInput(input: unknown, mode: "create" | "patch"): Partial<RuleInput> {
  if (!isPlainObject(input)) fail("a rule must be a JSON object");
  for (const key of Object.keys(input)) {
    if (!(RULE_FIELDS as readonly string[]).includes(key)) {
      fail(`unknown field "${key}": a rule has ${RULE_FIELDS.join(", ")}`);
    }
  }
  const value: Partial<RuleInput> = {};
  if (input.sourceType !== undefined) value.sourceType = checkSourceType(input.sourceType);
  if (input.sourceName !== undefined) value.sourceName = checkSourceName(input.sourceName);
  if (input.dockerTag !== undefined) value.dockerTag = checkDockerTag(input.dockerTag);
  if (input.dockerfile !== undefined) value.dockerfile = checkPath("dockerfile", input.dockerfile);
  if (input.context !== undefined) value.context = checkPath("context", input.context);
  if (input.autobuild !== undefined) value.autobuild = checkBoolean("autobuild", input.autobuild);
  if (input.cache !== undefined) value.cache = checkBoolean("cache", input.cache);
  if (input.buildArgs !== undefined) value.buildArgs = checkBuildArgs(input.buildArgs);
  const result = mode === "create" ? { ...DEFAULT_RULE, buildArgs: {}, ...value } : value;
  if (result.sourceName !== undefined && result.dockerTag !== undefined) {
    checkGroupReferences(result.sourceName, result.dockerTag);
  }
  return result;
}

function checkSourceType(value: unknown): SourceType {
  return parseSourceType(value) ?? fail('sourceType must be "branch" or "tag"');
}

function checkSourceName(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    fail('sourceName must be a branch or tag name ("main") or a /regex/ ("/^v([0-9.]+)$/")');
  }
  if (value.length > MAX_SOURCE_NAME) fail(`sourceName is longer than ${MAX_SOURCE_NAME} characters`);
  if (hasControlCharacters(value)) fail("sourceName must not contain control characters");
  const body = toSourcePattern(value);
  if (body === undefined) {
    if (!isValidRefName(value)) {
      fail(`sourceName "${value}" is not a valid git branch or tag name; for a pattern, write it as /regex/`);
    }
    return value;
  }
  try {
    compileFullMatch(body);
  } catch (err) {
    if (err instanceof SyntaxError) fail(`sourceName is not a valid regular expression: ${err.message}`);
    throw err;
  }
  return value;
}

function checkDockerTag(value: unknown): string {
  if (typeof value !== "string") fail('dockerTag must be a string such as "latest", "{sourceref}" or "{\\1},latest"');
  const parts = templateParts(value);
  if (parts.length === 0) fail("dockerTag must name at least one tag");
  for (const part of parts) {
    const literal = part.replace(PLACEHOLDER, "");
    if (/[{}]/.test(literal)) {
      fail(`dockerTag "${part}": unknown placeholder; use {sourceref} or {\\1}…{\\9}`);
    }
    if (literal === part) {
      if (!isValidDockerTag(part)) {
        fail(
          `dockerTag "${part}" is not a valid Docker tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
        );
      }
      continue;
    }
    if (!TAG_CHARS.test(literal)) {
      fail(`dockerTag "${part}": only letters, digits, "_", "." and "-" may surround the placeholders`);
    }
    if (!part.startsWith("{") && !TAG_FIRST.test(part)) {
      fail(`dockerTag "${part}" must not start with "." or "-"`);
    }
    if (literal.length > 128) fail(`dockerTag "${part}" is longer than 128 characters`);
  }
  return value;
}

/** `{\n}` must name a group the rule's regex has; a literal sourceName has none. */
function checkGroupReferences(sourceName: string, dockerTag: string): void {
  let highest = 0;
  for (const match of dockerTag.matchAll(PLACEHOLDER)) {
    if (match[1] !== undefined) highest = Math.max(highest, Number(match[1]));
  }
  if (highest === 0) return;
  const body = toSourcePattern(sourceName);
  if (body === undefined) {
    fail(`dockerTag uses {\\${highest}} but sourceName "${sourceName}" is not a /regex/ with groups`);
  }
  // Alternation with the empty pattern always matches "", which reveals the group count.
  const groupCount = (new RegExp(`(?:${body})|`).exec("")?.length ?? 1) - 1;
  if (highest > groupCount) {
    fail(`dockerTag uses {\\${highest}} but sourceName's regex has ${groupCount} group(s)`);
  }
}

function checkPath(field: "dockerfile" | "context", value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    fail(
      field === "context"
        ? 'context must be a path in the repository; "/" is its root'
        : 'dockerfile must be a path relative to the context, such as "Dockerfile"',
    );
  }
  if (value.length > MAX_PATH) fail(`${field} is longer than ${MAX_PATH} characters`);
  if (hasControlCharacters(value)) fail(`${field} must not contain NUL or other control characters`);
  if (value.split("/").includes("..")) fail(`${field} must stay inside the repository: remove ".." segments`);
  if (field === "dockerfile") {
    if (value.startsWith("/")) fail('dockerfile is relative to the context: remove the leading "/"');
    if (value.endsWith("/") || pathKey(value) === ".") fail("dockerfile must name a file, not a folder");
  }
  return value;
}

function checkBoolean(field: "autobuild" | "cache", value: unknown): boolean {
  if (typeof value !== "boolean") fail(`${field} must be true or false`);
  return value;
}

function checkBuildArgs(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) fail('buildArgs must be an object of names to strings, such as {"NODE_ENV": "production"}');
  const args: Record<string, string> = {};
  for (const [name, arg] of Object.entries(value)) {
    if (!BUILD_ARG_NAME.test(name)) {
      fail(`buildArgs name "${name}" must be letters, digits and "_", not starting with a digit`);
    }
    if (typeof arg !== "string") fail(`buildArgs "${name}" must be a string`);
    if (arg.includes("\0")) fail(`buildArgs "${name}" must not contain NUL`);
    args[name] = arg;
  }
  return args;
}
