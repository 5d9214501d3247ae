import { headerValue } from "./headers.js";
import type { Headers } from "./types.js";

export type BitbucketFlavour = "cloud" | "server";

/** Event keys only Bitbucket Cloud sends. */
const CLOUD_KEYS: ReadonlySet<string> = new Set([
  "repo:push",
  "repo:fork",
  "repo:updated",
  "repo:transfer",
  "repo:imported",
  "repo:deleted",
  "repo:commit_comment_created",
  "repo:commit_status_created",
  "repo:commit_status_updated",
]);
const CLOUD_PREFIXES = ["pullrequest:", "issue:"] as const;

/** Event keys only Bitbucket Server / Data Center sends. */
const SERVER_KEYS: ReadonlySet<string> = new Set([
  "repo:refs_changed",
  "repo:modified",
  "repo:forked",
  "repo:secret_detected",
  "project:modified",
]);
const SERVER_PREFIXES = ["pr:", "repo:comment:", "mirror:", "diagnostics:"] as const;

/** The trimmed `X-Event-Key`, or undefined when absent or blank. */
export function bitbucketEventKey(headers: Headers): string | undefined {
  const key = headerValue(headers, "x-event-key")?.trim();
  return key === "" ? undefined : key;
}

/**
 * Which Bitbucket sent a delivery: both send `X-Event-Key`. The key's value tells them apart
 * where only one of them uses it; otherwise Cloud's `X-Request-UUID` / `X-Hook-UUID` against
 * Server's `X-Request-Id`. Cloud's headers win that contest because reverse proxies commonly
 * add an `X-Request-Id` of their own.
 */
export function bitbucketFlavour(headers: Headers): BitbucketFlavour | undefined {
  const key = bitbucketEventKey(headers);
  if (key === undefined) return undefined;
  if (CLOUD_KEYS.has(key) || CLOUD_PREFIXES.some((prefix) => key.startsWith(prefix))) return "cloud";
  if (SERVER_KEYS.has(key) || SERVER_PREFIXES.some((prefix) => key.startsWith(prefix))) return "server";
  if (headerValue(headers, "x-request-uuid") !== undefined || headerValue(headers, "x-hook-uuid") !== undefined) {
    return "cloud";
  }
  if (headerValue(headers, "x-request-id") !== undefined) return "server";
  return undefined;
}
