import type { SourceType } from "./build.js";
import { hasControlCharacters, isSourcePattern, isValidRefName, MAX_SOURCE_NAME, parseSourceType } from "./git-ref.js";
import type { BuildRule } from "./rules.js";

/**
 * What a trigger URL call asks for (CONTRACT §4, Docker Hub's bodies):
 * - `autobuild`: `{}`, `{"build": true}` or no body: every rule with autobuild on, at its head;
 * - `docker_tag`: `{"docker_tag": "latest"}`: the rules whose tag template lists that tag;
 * - `source`: `{"source_type": "Branch"|"Tag", "source_name": "staging"}`: that branch or tag
 *   through the rules that match it (with `docker_tag` too: only those of them listing it).
 */
export type TriggerRequest =
  | { kind: "autobuild" }
  | { kind: "docker_tag"; dockerTag: string }
  | { kind: "source"; sourceType: SourceType; sourceName: string; dockerTag?: string };

export type TriggerBodyResult =
  | { ok: true; request: TriggerRequest }
  | { ok: false; code: "bad_request" | "invalid_json" | "validation_failed"; message: string };

const FIELDS = ["build", "docker_tag", "source_type", "source_name"] as const;
/** A bound on the input, not Docker's (128): the tag is only compared with rules' templates. */
const MAX_DOCKER_TAG = 255;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

/**
 * Reads a trigger call's body. Whatever the content type (curl's `--data` sends a form
 * type), the body is JSON or empty; an empty body is `{}`, as Docker Hub takes it.
 * Unknown fields are refused: a misspelt `docker_tag` must not build every rule.
 */
export function parseTriggerBody(raw: Uint8Array): TriggerBodyResult {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (err) {
    if (err instanceof TypeError) return { ok: false, code: "bad_request", message: "the body is not valid UTF-8" };
    throw err;
  }
  if (text.trim() === "") return { ok: true, request: { kind: "autobuild" } };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    // RangeError: nesting deep enough to exhaust the parser's stack.
    if (err instanceof SyntaxError || err instanceof RangeError) {
      return { ok: false, code: "invalid_json", message: 'the body is not valid JSON: send {"build": true}, or nothing' };
    }
    throw err;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, code: "bad_request", message: 'the body must be a JSON object such as {"build": true}' };
  }
  try {
    return { ok: true, request: toTriggerRequest(body as Record<string, unknown>) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, code: "validation_failed", message: err.message };
    throw err;
  }
}

function toTriggerRequest(body: Record<string, unknown>): TriggerRequest {
  for (const key of Object.keys(body)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      fail(`unknown field "${key}": a trigger body has ${FIELDS.map((f) => `"${f}"`).join(", ")}`);
    }
  }
  if (body["build"] !== undefined && body["build"] !== true) {
    fail('"build" must be true, or left out');
  }
  const dockerTag = body["docker_tag"] === undefined ? undefined : checkDockerTag(body["docker_tag"]);
  const hasType = body["source_type"] !== undefined;
  const hasName = body["source_name"] !== undefined;
  if (hasType !== hasName) fail('give "source_type" ("Branch" or "Tag") and "source_name" together');
  if (hasType) {
    const request: TriggerRequest = {
      kind: "source",
      sourceType: checkSourceType(body["source_type"]),
      sourceName: checkSourceName(body["source_name"]),
    };
    return dockerTag === undefined ? request : { ...request, dockerTag };
  }
  return dockerTag === undefined ? { kind: "autobuild" } : { kind: "docker_tag", dockerTag };
}

function checkSourceType(value: unknown): SourceType {
  return parseSourceType(value) ?? fail('"source_type" must be "Branch" or "Tag"');
}

function checkSourceName(value: unknown): string {
  if (typeof value !== "string" || value === "") fail('"source_name" must be the name of a branch or tag');
  if (value.length > MAX_SOURCE_NAME) fail(`"source_name" is longer than ${MAX_SOURCE_NAME} characters`);
  if (hasControlCharacters(value)) fail('"source_name" must not contain control characters');
  if (isSourcePattern(value)) fail('"source_name" names one branch or tag, not a /pattern/');
  if (!isValidRefName(value)) fail(`"source_name" "${value}" is not a valid git branch or tag name`);
  return value;
}

function checkDockerTag(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") fail('"docker_tag" must be a tag such as "latest"');
  const tag = value.trim();
  if (tag.length > MAX_DOCKER_TAG || hasControlCharacters(tag) || tag.includes(",")) {
    fail('"docker_tag" must be one tag of a rule, such as "latest"');
  }
  return tag;
}

// ---------------------------------------------------------------------------------------
// Which branches and tags a call builds, through which rules.

/** One branch or tag to build at its head; `ruleIds` undefined: every rule that matches it. */
export interface TriggerTarget {
  sourceType: SourceType;
  sourceName: string;
  ruleIds?: string[];
}

export interface TriggerSelection {
  targets: TriggerTarget[];
  /** Rules the call named but that have no single head to build (their source name is a /regex/). */
  skipped: { ruleId: string; reason: string }[];
}

/** Whether the rule's tag template lists this tag, literally (`"{\\1},latest"` lists `latest`). */
export function listsDockerTag(rule: Pick<BuildRule, "dockerTag">, tag: string): boolean {
  return rule.dockerTag.split(",").some((part) => part.trim() === tag);
}

/**
 * The branches and tags a trigger call builds. A rule named by `autobuild` or `docker_tag`
 * builds its own branch or tag; rules that share one are built together (so that rules with
 * one Dockerfile share one build, as on a push). A /regex/ rule has no single head: skipped.
 */
export function selectTriggerTargets(rules: readonly BuildRule[], request: TriggerRequest): TriggerSelection {
  if (request.kind === "source") {
    const { sourceType, sourceName, dockerTag } = request;
    if (dockerTag === undefined) return { targets: [{ sourceType, sourceName }], skipped: [] };
    const ruleIds = rules.filter((rule) => listsDockerTag(rule, dockerTag)).map((rule) => rule.id);
    return { targets: [{ sourceType, sourceName, ruleIds }], skipped: [] };
  }
  const named =
    request.kind === "autobuild"
      ? rules.filter((rule) => rule.autobuild)
      : rules.filter((rule) => listsDockerTag(rule, request.dockerTag));
  const targets = new Map<string, TriggerTarget & { ruleIds: string[] }>();
  const skipped: TriggerSelection["skipped"] = [];
  for (const rule of named) {
    if (isSourcePattern(rule.sourceName)) {
      skipped.push({
        ruleId: rule.id,
        reason: `the rule for ${rule.sourceType} ${rule.sourceName} matches a pattern, not one ${rule.sourceType}: call with {"source_type": "${rule.sourceType === "branch" ? "Branch" : "Tag"}", "source_name": "<name>"} to build it`,
      });
      continue;
    }
    const key = JSON.stringify([rule.sourceType, rule.sourceName]);
    const target = targets.get(key);
    if (target) target.ruleIds.push(rule.id);
    else targets.set(key, { sourceType: rule.sourceType, sourceName: rule.sourceName, ruleIds: [rule.id] });
  }
  return { targets: [...targets.values()], skipped };
}

/** Why a call built nothing, for its answer's `ignored` (a 202, as Docker Hub answers). */
export function nothingToBuildMessage(repository: string, request: TriggerRequest, selection: TriggerSelection): string {
  const patterns = selection.skipped.length > 0 ? `; ${selection.skipped.map((s) => s.reason).join("; ")}` : "";
  switch (request.kind) {
    case "autobuild":
      return `nothing to build: no build rule of ${repository} with autobuild on names one branch or tag${patterns}`;
    case "docker_tag":
      return `nothing to build: no build rule of ${repository} with the tag "${request.dockerTag}" names one branch or tag${patterns}`;
    case "source": {
      const withTag = request.dockerTag === undefined ? "" : ` with the tag "${request.dockerTag}"`;
      return `nothing to build: no build rule of ${repository}${withTag} matches ${request.sourceType} "${request.sourceName}"`;
    }
  }
}
