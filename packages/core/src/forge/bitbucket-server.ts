import { safeEqual } from "../signature.js";
import { bitbucketEventKey, bitbucketFlavour } from "./bitbucket-flavour.js";
import { headerValue } from "./headers.js";
import { verifyHubSignature } from "./hub-signature.js";
import { arrayField, field, isObject, isSha, isZeroSha, messageOf, nameField, parseRef, stringField } from "./payload.js";
import type { Forge, Headers, ParseResult, PushEvent, VerifyResult } from "./types.js";

const PING = "diagnostics:ping";
const CHANGE_TYPES: ReadonlySet<string> = new Set(["ADD", "UPDATE", "DELETE"]);

/**
 * `PROJECTKEY/slug`, or `~USER/slug` for a personal project, spelled as the payload spells it.
 * Bitbucket Server compares both parts case-insensitively (`~USER` here, `~user` in its URLs),
 * so a source should be matched against this name without regard to case.
 */
function repositoryName(payload: unknown): string | null {
  const repository = field(payload, "repository");
  const key = nameField(field(repository, "project"), "key");
  const slug = nameField(repository, "slug");
  return key === undefined || slug === undefined ? null : `${key}/${slug}`;
}

/**
 * The message of `commit` when the payload carries that commit: Data Center adds the pushed
 * commits (`toCommit`, and up to five in `commits`); older servers send none.
 */
function commitMessage(payload: unknown, commit: string): string | undefined {
  const toCommit = field(payload, "toCommit");
  return messageOf([toCommit], commit) ?? messageOf(arrayField(payload, "commits"), commit);
}

/** One change's push, null for a deletion, or an error message. */
function changePush(payload: unknown, change: unknown, repository: string): PushEvent | null | string {
  if (!isObject(change)) return "refs_changed change is not an object";
  const type = change.type;
  if (type !== undefined && (typeof type !== "string" || !CHANGE_TYPES.has(type))) {
    return `refs_changed change type ${JSON.stringify(type)} is not ADD, UPDATE or DELETE`;
  }
  const ref = stringField(change, "refId") ?? stringField(change.ref, "id");
  if (ref === undefined) return "refs_changed change has no refId";
  const refName = parseRef(ref);
  if (typeof refName === "string") return `refs_changed ${refName}`;
  const toHash = change.toHash;
  if (type === "DELETE" || isZeroSha(toHash)) return null;
  if (!isSha(toHash)) return "refs_changed change's toHash is not a 40-hex commit id";
  const commit = toHash.toLowerCase();
  const message = commitMessage(payload, commit);
  const push: PushEvent = {
    provider: "bitbucket-server",
    repository,
    ref,
    ...refName,
    commit,
    commitMessage: message ?? "",
    pusher: nameField(field(payload, "actor"), "name") ?? null,
  };
  // toHash is the ref's new object: for an annotated tag, the tag object. A commit of that id
  // in the payload proves it is a commit.
  if (refName.sourceType === "tag" && message === undefined) push.commitMayBeTagObject = true;
  return push;
}

function parseRefsChanged(payload: unknown): ParseResult {
  if (!isObject(payload)) return { kind: "bad_request", message: "repo:refs_changed payload is not a JSON object" };
  const repository = repositoryName(payload);
  if (repository === null) {
    return { kind: "bad_request", message: "repo:refs_changed payload has no repository.project.key and repository.slug" };
  }
  const changes = arrayField(payload, "changes");
  if (changes === undefined) return { kind: "bad_request", message: "repo:refs_changed payload has no changes" };
  const pushes: PushEvent[] = [];
  for (const change of changes) {
    const push = changePush(payload, change, repository);
    if (typeof push === "string") return { kind: "bad_request", message: push };
    if (push !== null) pushes.push(push);
  }
  if (pushes.length > 0) return { kind: "push", repository, pushes };
  return { kind: "ignored", repository, reason: changes.length === 0 ? "push carries no changes" : "deletion" };
}

function parse(event: string, payload: unknown): ParseResult {
  switch (event) {
    case PING:
      // "Test connection" sends `{"test": true}`, or nothing at all: never a reason to refuse.
      return { kind: "ping", repository: repositoryName(payload) };
    case "repo:refs_changed":
      return parseRefsChanged(payload);
    default:
      return { kind: "ignored", repository: repositoryName(payload), reason: `event "${event}" builds nothing` };
  }
}

/** The password of an `Authorization: Basic` header, or undefined when it is not one. */
function basicPassword(authorization: string): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * The HMAC-SHA256 `X-Hub-Signature` when present. A hook may instead be set up with Basic
 * authentication (Data Center 8.x); its password is then the secret, whatever the user name.
 */
function verify(headers: Headers, rawBody: Buffer, secret: string): VerifyResult {
  const signature = headerValue(headers, "x-hub-signature");
  const authorization = headerValue(headers, "authorization");
  if (signature !== undefined || authorization === undefined) return verifyHubSignature(signature, rawBody, secret);
  if (authorization.trim() === "") return { ok: false, reason: "empty" };
  const password = basicPassword(authorization);
  if (password === undefined) return { ok: false, reason: "malformed" };
  if (password === "") return { ok: false, reason: "empty" };
  return safeEqual(password, secret) ? { ok: true } : { ok: false, reason: "mismatch" };
}

/** Bitbucket Server and Data Center (self-hosted). */
export const bitbucketServer: Forge = {
  provider: "bitbucket-server",

  detect(headers: Headers): boolean {
    return bitbucketFlavour(headers) === "server";
  },

  event: bitbucketEventKey,

  deliveryKey(headers: Headers): string | undefined {
    const id = headerValue(headers, "x-request-id")?.trim();
    return id === "" ? undefined : id;
  },

  verify,
  parse,
  unsignedEvents: new Set([PING]),
};
