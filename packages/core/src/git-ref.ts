import type { SourceType } from "./build.js";

/** The longest branch or tag name (or /regex/) a rule or a trigger call may give. */
export const MAX_SOURCE_NAME = 255;

// Control characters are exactly what this pattern is for.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** What git never allows anywhere in a ref name (git check-ref-format); whitespace of any kind too. */
const REF_FORBIDDEN = /[\s~^:?*[\\]|\.\.|@\{|\/\//;

/** Whether a string holds ASCII control characters (NUL, newlines, escapes, DEL). */
export function hasControlCharacters(value: string): boolean {
  return CONTROL.test(value);
}

/** "branch" or "tag", in any case: Docker Hub spells them "Branch" and "Tag". */
export function parseSourceType(value: unknown): SourceType | undefined {
  const lower = typeof value === "string" ? value.toLowerCase() : undefined;
  return lower === "branch" || lower === "tag" ? lower : undefined;
}

/** A source name of the form `/…/` is a regular expression (Docker Hub's convention): its body. */
export function toSourcePattern(sourceName: string): string | undefined {
  return isSourcePattern(sourceName) ? sourceName.slice(1, -1) : undefined;
}

export function isSourcePattern(sourceName: string): boolean {
  return sourceName.length >= 2 && sourceName.startsWith("/") && sourceName.endsWith("/");
}

/**
 * Whether git takes `name` as a branch or tag name: git check-ref-format's rules for
 * `refs/heads/<name>` and `refs/tags/<name>`, plus those of `git branch` and `git tag`,
 * which refuse a leading "-" (it would read as an option, here as on any git command line).
 * A leading "/" is refused too: a ref name never starts with one, and `/…/` is a pattern.
 */
export function isValidRefName(name: string): boolean {
  if (name === "" || name.startsWith("-") || name.endsWith(".")) return false;
  if (hasControlCharacters(name) || REF_FORBIDDEN.test(name)) return false;
  // "/" at either end leaves an empty component, as "//" does.
  return name.split("/").every((part) => part !== "" && !part.startsWith(".") && !part.endsWith(".lock"));
}
