import type { SourceType } from "../build.js";

export const PROVIDERS = ["github", "bitbucket", "bitbucket-server", "gitlab", "gitea"] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: unknown): value is Provider {
  return typeof value === "string" && (PROVIDERS as readonly string[]).includes(value);
}

/** Header names are lower-cased, as node:http gives them. */
export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** A branch or tag that now points at `commit` and may be built. */
export interface PushEvent {
  provider: Provider;
  /** The forge's full repository name ("acme/hello", "group/sub/repo", "PROJ/slug"). */
  repository: string;
  /** The full ref ("refs/heads/feature/x"). */
  ref: string;
  sourceType: SourceType;
  /** The branch or tag name, everything after refs/heads/ or refs/tags/. */
  sourceName: string;
  /** The commit to build (for annotated tags, the commit, not the tag object). 40 hex. */
  commit: string;
  commitMessage: string;
  pusher: string | null;
  /**
   * Set when the forge sent the ref's new object id without saying whether it is a commit:
   * Bitbucket Server's `toHash` for an annotated tag is the tag object. Whoever fetches the
   * commit peels it (`git rev-parse <commit>^{commit}`) and builds and records that commit.
   */
  commitMayBeTagObject?: true;
}

/**
 * What a delivery means, after its signature was checked (woodpecker's forge.Hook results):
 * - `push`: build these (one delivery may carry several changes, e.g. Bitbucket);
 * - `ping`: a hook test; answer 200, build nothing;
 * - `ignored`: a well-formed event that builds nothing (a deletion, another event);
 * - `bad_request`: the payload is not what this forge sends; answer 400.
 * `repository` is the forge repository the delivery names, when it names one.
 */
export type ParseResult =
  | { kind: "push"; repository: string; pushes: PushEvent[] }
  | { kind: "ping"; repository: string | null }
  | { kind: "ignored"; repository: string | null; reason: string }
  | { kind: "bad_request"; message: string };

export type VerifyResult =
  | { ok: true }
  | { ok: false; reason: "missing" | "empty" | "malformed" | "mismatch" };

export interface Forge {
  readonly provider: Provider;
  /** Whether these headers come from this forge. */
  detect(headers: Headers): boolean;
  /** The event name ("push", "Push Hook", "repo:push"), or undefined when absent. */
  event(headers: Headers): string | undefined;
  /** The forge's identity of this delivery, for deduplicating redeliveries. */
  deliveryKey(headers: Headers): string | undefined;
  /** Checks the delivery against the source's secret, over the raw bytes as sent. */
  verify(headers: Headers, rawBody: Buffer, secret: string): VerifyResult;
  /** Maps a decoded payload to what it means. Never throws. */
  parse(event: string, payload: unknown): ParseResult;
  /**
   * Events accepted without a signature even where the source has a secret, because the forge
   * sends them unsigned (Bitbucket Server's `diagnostics:ping`, possibly with an empty body).
   * `parse` never answers `push` for them.
   */
  readonly unsignedEvents?: ReadonlySet<string>;
}
