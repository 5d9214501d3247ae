import type { SourceType } from "../build.js";

/** Readers for untrusted, decoded JSON payloads: they answer undefined rather than throw. */

export type JsonObject = Record<string, unknown>;

const SHA = /^[0-9a-fA-F]{40}$/;
const ZERO_SHA = /^0{40}$/;
const REF_PREFIXES: readonly (readonly [string, SourceType])[] = [
  ["refs/heads/", "branch"],
  ["refs/tags/", "tag"],
];

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A field of an object, or undefined when `value` is not an object. */
export function field<K extends string>(value: unknown, key: K): unknown {
  return isObject(value) ? value[key] : undefined;
}

/**
 * A string field, read only when the value is an object with that field as a string.
 * `K` lets a caller check the field's name against a forge's schema at compile time.
 */
export function stringField<K extends string>(value: unknown, key: K): string | undefined {
  const found = field(value, key);
  return typeof found === "string" ? found : undefined;
}

/** A string field that is not empty. */
export function nameField<K extends string>(value: unknown, key: K): string | undefined {
  const found = stringField(value, key);
  return found === undefined || found === "" ? undefined : found;
}

/** An array field, or undefined when absent or not an array. */
export function arrayField<K extends string>(value: unknown, key: K): readonly unknown[] | undefined {
  const found = field(value, key);
  return Array.isArray(found) ? found : undefined;
}

/** A full commit id: 40 hex digits, either case. */
export function isSha(value: unknown): value is string {
  return typeof value === "string" && SHA.test(value);
}

/** The all-zero id forges send for the "before" of a creation and the "after" of a deletion. */
export function isZeroSha(value: unknown): boolean {
  return typeof value === "string" && ZERO_SHA.test(value);
}

export interface RefName {
  sourceType: SourceType;
  /** Everything after refs/heads/ or refs/tags/, slashes kept. */
  sourceName: string;
}

/**
 * A full ref's kind and name, or an error message for refs that are neither a branch nor a
 * tag. Names keep their slashes: the prefix is cut, never split on `/`.
 */
export function parseRef(ref: string): RefName | string {
  const kind = REF_PREFIXES.find(([prefix]) => ref.startsWith(prefix));
  if (kind === undefined) return `ref "${ref}" is neither a branch (refs/heads/) nor a tag (refs/tags/)`;
  const [prefix, sourceType] = kind;
  const sourceName = ref.slice(prefix.length);
  if (sourceName === "") return `ref "${ref}" has no name`;
  return { sourceType, sourceName };
}

/** The message of the last commit in `commits` whose id is `commit`, either case. */
export function messageOf(commits: readonly unknown[] | undefined, commit: string): string | undefined {
  const wanted = commit.toLowerCase();
  const found = commits?.findLast((entry) => stringField(entry, "id")?.toLowerCase() === wanted);
  return stringField(found, "message");
}
