import type { components } from "@octokit/openapi-webhooks-types";
import { headerValue } from "./headers.js";
import { verifyHubSignature } from "./hub-signature.js";
import { isObject, isSha, isZeroSha, parseRef, stringField } from "./payload.js";
import type { Forge, Headers, ParseResult, VerifyResult } from "./types.js";

/** GitHub's schema, used only to check at compile time the names of the fields read. */
type PushPayload = components["schemas"]["webhook-push"];
type PushKey = keyof PushPayload;
type HeadCommitKey = keyof NonNullable<PushPayload["head_commit"]>;
type PusherKey = keyof PushPayload["pusher"];
type RepositoryKey = keyof PushPayload["repository"];

/** Gitea, Gogs and Forgejo send X-GitHub-Event too; their own header tells them apart. */
const LOOKALIKE_HEADERS = ["x-gitea-event", "x-gogs-event", "x-forgejo-event"] as const;

function repositoryName(payload: unknown): string | null {
  const repository: unknown = isObject(payload) ? payload.repository : undefined;
  const name = stringField<RepositoryKey>(repository, "full_name");
  return name !== undefined && name.length > 0 ? name : null;
}

function verify(headers: Headers, rawBody: Buffer, secret: string): VerifyResult {
  // The SHA-256 header wins; the SHA-1 one is legacy and only used when it is the only one.
  const header = headerValue(headers, "x-hub-signature-256") ?? headerValue(headers, "x-hub-signature");
  return verifyHubSignature(header, rawBody, secret);
}

function parsePush(payload: unknown): ParseResult {
  if (!isObject(payload)) return { kind: "bad_request", message: "push payload is not a JSON object" };
  const repository = repositoryName(payload);
  if (repository === null) return { kind: "bad_request", message: "push payload has no repository.full_name" };
  const field = (key: PushKey): unknown => payload[key];
  const ref = field("ref");
  const deleted = field("deleted");
  const after = field("after");
  if (typeof ref !== "string") return { kind: "bad_request", message: "push payload has no ref" };
  const name = parseRef(ref);
  if (typeof name === "string") return { kind: "bad_request", message: `push ${name}` };
  const { sourceType, sourceName } = name;
  if (deleted !== undefined && typeof deleted !== "boolean") {
    return { kind: "bad_request", message: "push payload's deleted is not a boolean" };
  }
  if (typeof after !== "string") return { kind: "bad_request", message: "push payload has no after commit" };
  if (deleted === true || isZeroSha(after)) return { kind: "ignored", repository, reason: "deletion" };
  if (!isSha(after)) return { kind: "bad_request", message: "push payload's after is not a 40-hex commit id" };

  const headCommit = field("head_commit");
  if (headCommit !== undefined && headCommit !== null && !isObject(headCommit)) {
    return { kind: "bad_request", message: "push payload's head_commit is not an object" };
  }
  // For an annotated tag, `after` is the tag object; head_commit is the commit it points at.
  const headId = stringField<HeadCommitKey>(headCommit, "id");
  const commit = sourceType === "tag" && isSha(headId) ? headId : after;
  return {
    kind: "push",
    repository,
    pushes: [
      {
        provider: "github",
        repository,
        ref,
        sourceType,
        sourceName,
        commit: commit.toLowerCase(),
        commitMessage: stringField<HeadCommitKey>(headCommit, "message") ?? "",
        pusher: stringField<PusherKey>(field("pusher"), "name") ?? null,
      },
    ],
  };
}

function parse(event: string, payload: unknown): ParseResult {
  switch (event) {
    case "ping":
      // An organisation's hook pings without a repository.
      if (!isObject(payload)) return { kind: "bad_request", message: "ping payload is not a JSON object" };
      return { kind: "ping", repository: repositoryName(payload) };
    case "push":
      return parsePush(payload);
    default:
      return { kind: "ignored", repository: repositoryName(payload), reason: `event "${event}" builds nothing` };
  }
}

export const github: Forge = {
  provider: "github",

  detect(headers: Headers): boolean {
    return (
      headerValue(headers, "x-github-event") !== undefined &&
      LOOKALIKE_HEADERS.every((name) => headerValue(headers, name) === undefined)
    );
  },

  event(headers: Headers): string | undefined {
    const event = headerValue(headers, "x-github-event")?.trim();
    return event === "" ? undefined : event;
  },

  deliveryKey(headers: Headers): string | undefined {
    const guid = headerValue(headers, "x-github-delivery");
    if (guid === undefined || guid === "") return undefined;
    return `${headerValue(headers, "x-github-hook-id") ?? ""}:${guid}`;
  },

  verify,
  parse,
};
