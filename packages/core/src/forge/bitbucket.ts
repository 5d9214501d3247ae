import { bitbucketEventKey, bitbucketFlavour } from "./bitbucket-flavour.js";
import { headerValue } from "./headers.js";
import { verifyHubSignature } from "./hub-signature.js";
import { arrayField, field, isObject, isSha, nameField, parseRef, stringField } from "./payload.js";
import type { Forge, Headers, ParseResult, PushEvent, VerifyResult } from "./types.js";

/** Bitbucket Cloud: `new.type` of a change, mapped to the ref prefix it stands for. */
const REF_PREFIX_OF_TYPE: Readonly<Record<string, string>> = { branch: "refs/heads/", tag: "refs/tags/" };

/** "workspace/slug" */
function repositoryName(payload: unknown): string | null {
  return nameField(field(payload, "repository"), "full_name") ?? null;
}

function pusherName(payload: unknown): string | null {
  const actor = field(payload, "actor");
  // Since Atlassian's privacy changes, `username` is gone and `nickname` replaced it.
  return nameField(actor, "nickname") ?? nameField(actor, "username") ?? nameField(actor, "display_name") ?? null;
}

/** One change's push, null for a deletion, or an error message. */
function changePush(change: unknown, repository: string, pusher: string | null): PushEvent | null | string {
  if (!isObject(change)) return "push change is not an object";
  const next = change.new;
  // A deleted branch or tag has `new: null`.
  if (next === null) return null;
  if (!isObject(next)) return "push change has no new state";
  const type = stringField(next, "type");
  const name = stringField(next, "name");
  const prefix = type === undefined ? undefined : REF_PREFIX_OF_TYPE[type];
  if (prefix === undefined) return `push change's new.type ${JSON.stringify(type ?? null)} is neither "branch" nor "tag"`;
  if (name === undefined || name === "") return "push change has no new.name";
  // Bitbucket gives the name, not the ref: the full ref is built from the type, slashes kept.
  const ref = prefix + name;
  const refName = parseRef(ref);
  if (typeof refName === "string") return `push ${refName}`;
  // For a tag, `target` is the commit it points at, annotated or not.
  const target = next.target;
  const hash = stringField(target, "hash");
  if (!isSha(hash)) return "push change's new.target.hash is not a 40-hex commit id";
  return {
    provider: "bitbucket",
    repository,
    ref,
    ...refName,
    commit: hash.toLowerCase(),
    commitMessage: stringField(target, "message") ?? "",
    pusher,
  };
}

function parsePush(payload: unknown): ParseResult {
  if (!isObject(payload)) return { kind: "bad_request", message: "repo:push payload is not a JSON object" };
  const repository = repositoryName(payload);
  if (repository === null) return { kind: "bad_request", message: "repo:push payload has no repository.full_name" };
  const changes = arrayField(payload.push, "changes");
  if (changes === undefined) return { kind: "bad_request", message: "repo:push payload has no push.changes" };
  const pusher = pusherName(payload);
  const pushes: PushEvent[] = [];
  for (const change of changes) {
    const push = changePush(change, repository, pusher);
    if (typeof push === "string") return { kind: "bad_request", message: push };
    if (push !== null) pushes.push(push);
  }
  if (pushes.length > 0) return { kind: "push", repository, pushes };
  const reason = changes.length === 0 ? "push carries no changes" : "deletion";
  return { kind: "ignored", repository, reason };
}

function parse(event: string, payload: unknown): ParseResult {
  if (event === "repo:push") return parsePush(payload);
  return { kind: "ignored", repository: repositoryName(payload), reason: `event "${event}" builds nothing` };
}

function verify(headers: Headers, rawBody: Buffer, secret: string): VerifyResult {
  // Hooks without a secret are unsigned; once the source has a secret, the signature is required.
  return verifyHubSignature(headerValue(headers, "x-hub-signature"), rawBody, secret);
}

/** Bitbucket Cloud (bitbucket.org). */
export const bitbucket: Forge = {
  provider: "bitbucket",

  detect(headers: Headers): boolean {
    return bitbucketFlavour(headers) === "cloud";
  },

  event: bitbucketEventKey,

  deliveryKey(headers: Headers): string | undefined {
    const uuid = headerValue(headers, "x-request-uuid")?.trim();
    return uuid === "" ? undefined : uuid;
  },

  verify,
  parse,
};
