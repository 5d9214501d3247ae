import type { SourceType } from "./build.js";

/** A build rule (CONTRACT §5). `sourceName` is a literal or a `/regex/` matched in full. */
export interface BuildRule {
  id: string;
  sourceType: SourceType;
  sourceName: string;
  /** Tag template: literal tags, `{sourceref}`, `{\1}`…`{\9}`, comma separated. */
  dockerTag: string;
  /** Path of the Dockerfile, relative to the context (Docker Hub's "Dockerfile location"). */
  dockerfile: string;
  /** Build context, relative to the repository root; "/" is the root. */
  context: string;
  autobuild: boolean;
  cache: boolean;
  buildArgs: Record<string, string>;
}

export type RuleInput = Omit<BuildRule, "id">;

export const DEFAULT_RULE: RuleInput = {
  sourceType: "branch",
  sourceName: "main",
  dockerTag: "latest",
  dockerfile: "Dockerfile",
  context: "/",
  autobuild: true,
  cache: true,
  buildArgs: {},
};

/**
 * The outcome of matching one rule against a branch or tag:
 * - `undefined`: the rule does not match;
 * - `{tags}`: it matches and pushes these tags (deduplicated, in template order);
 * - `{invalidTag}`: it matches but a rendered tag breaks Docker's tag grammar.
 */
export type RuleMatch = { tags: string[] } | { invalidTag: string };

/** A build to queue: one per distinct (dockerfile, context) among the matching rules. */
export interface BuildPlan {
  /** The first matching rule (the build's `ruleId`). */
  ruleId: string;
  ruleIds: string[];
  sourceType: SourceType;
  sourceName: string;
  dockerfile: string;
  context: string;
  cache: boolean;
  buildArgs: Record<string, string>;
  tags: string[];
}
