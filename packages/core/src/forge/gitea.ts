import { formPayload } from "../body.js";
import { headerValue } from "./headers.js";
import { verifyHexDigest, verifyHubSignature } from "./hub-signature.js";
import { arrayField, field, isObject, isSha, isZeroSha, messageOf, nameField, parseRef, stringField } from "./payload.js";
import type { Forge, Headers, ParseResult, VerifyResult } from "./types.js";

/** Gitea, Forgejo and Gogs each name the same headers after themselves; Forgejo sends Gitea's too. */
const FLAVOURS = ["gitea", "forgejo", "gogs"] as const;
const headerNames = (suffix: string): string[] => FLAVOURS.map((flavour) => `x-${flavour}-${suffix}`);
const EVENT_HEADERS = headerNames("event");
const DELIVERY_HEADERS = headerNames("delivery");
const SIGNATURE_HEADERS = headerNames("signature");

/** The first of `names` present with a value that is not blank. */
function firstValue(headers: Headers, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = headerValue(headers, name)?.trim();
    if (value) return value;
  }
  return undefined;
}

/** "owner/name" */
function repositoryName(payload: unknown): string | null {
  return nameField(field(payload, "repository"), "full_name") ?? null;
}

/** The head commit's message, else that of the commit built among `commits`, else the last one's. */
function commitMessage(payload: unknown, commit: string): string {
  const headCommit = field(payload, "head_commit");
  const commits = arrayField(payload, "commits");
  return (
    stringField(headCommit, "message") ??
    messageOf(commits, commit) ??
    stringField(commits?.[commits.length - 1], "message") ??
    ""
  );
}

/**
 * A push. Unlike GitHub, Gitea sends no created/deleted/forced flags: a deletion is told by its
 * all-zero `after` (a `delete` event comes alongside).
 */
function parsePush(payload: unknown): ParseResult {
  if (!isObject(payload)) return { kind: "bad_request", message: "push payload is not a JSON object" };
  const repository = repositoryName(payload);
  if (repository === null) return { kind: "bad_request", message: "push payload has no repository.full_name" };
  const { ref, after } = payload;
  if (typeof ref !== "string") return { kind: "bad_request", message: "push payload has no ref" };
  const refName = parseRef(ref);
  if (typeof refName === "string") return { kind: "bad_request", message: `push ${refName}` };
  if (typeof after !== "string") return { kind: "bad_request", message: "push payload has no after commit" };
  if (isZeroSha(after)) return { kind: "ignored", repository, reason: "deletion" };
  if (!isSha(after)) return { kind: "bad_request", message: "push payload's after is not a 40-hex commit id" };
  const headCommit = payload.head_commit;
  if (headCommit !== undefined && headCommit !== null && !isObject(headCommit)) {
    return { kind: "bad_request", message: "push payload's head_commit is not an object" };
  }
  // For an annotated tag, `after` is the tag object; head_commit is the commit it points at.
  const headId = stringField(headCommit, "id");
  const commit = (refName.sourceType === "tag" && isSha(headId) ? headId : after).toLowerCase();
  const pusher = payload.pusher;
  return {
    kind: "push",
    repository,
    pushes: [
      {
        provider: "gitea",
        repository,
        ref,
        ...refName,
        commit,
        commitMessage: commitMessage(payload, commit),
        pusher: nameField(pusher, "login") ?? nameField(pusher, "username") ?? null,
      },
    ],
  };
}

function parse(event: string, payload: unknown): ParseResult {
  switch (event) {
    case "push":
      return parsePush(payload);
    case "delete":
      return { kind: "ignored", repository: repositoryName(payload), reason: "deletion" };
    default:
      // `create` too: the push that comes with a new branch or tag is what builds.
      return { kind: "ignored", repository: repositoryName(payload), reason: `event "${event}" builds nothing` };
  }
}

/**
 * Gitea signs with a bare hex HMAC-SHA256 (`X-Gitea-Signature`, `X-Forgejo-Signature`,
 * `X-Gogs-Signature`) and GitHub's prefixed headers as well. A hook without a secret still sends
 * them all, with empty digests: that is unsigned, never valid. The first header with a digest
 * decides. In a form body, what is signed is the `payload` field's text, not the form.
 */
function verify(headers: Headers, rawBody: Buffer, secret: string): VerifyResult {
  const payload = formPayload(headerValue(headers, "content-type"), rawBody);
  const signed = payload === undefined ? rawBody : Buffer.from(payload, "utf8");
  let result: VerifyResult = { ok: false, reason: "missing" };
  for (const name of SIGNATURE_HEADERS) {
    const digest = headerValue(headers, name);
    if (digest === undefined) continue;
    result = verifyHexDigest("sha256", digest, signed, secret);
    if (result.ok || result.reason !== "empty") return result;
  }
  for (const name of ["x-hub-signature-256", "x-hub-signature"]) {
    const header = headerValue(headers, name);
    if (header === undefined) continue;
    result = verifyHubSignature(header, signed, secret);
    if (result.ok || result.reason !== "empty") return result;
  }
  return result;
}

/** Gitea, and the forges that share its hooks: Forgejo and Gogs. */
export const gitea: Forge = {
  provider: "gitea",

  detect(headers: Headers): boolean {
    return EVENT_HEADERS.some((name) => headerValue(headers, name) !== undefined);
  },

  event(headers: Headers): string | undefined {
    return firstValue(headers, EVENT_HEADERS);
  },

  deliveryKey(headers: Headers): string | undefined {
    return firstValue(headers, DELIVERY_HEADERS);
  },

  verify,
  parse,
};
