import { safeEqual } from "../signature.js";
import { headerValue } from "./headers.js";
import { arrayField, field, isObject, isSha, isZeroSha, messageOf, nameField, parseRef, stringField } from "./payload.js";
import { verifyStandardWebhook } from "./standard-webhooks.js";
import type { Forge, Headers, ParseResult, VerifyResult } from "./types.js";

/**
 * `X-Gitlab-Event` values whose payload may be a push; which one it is, the payload's
 * `object_kind` (`event_name` in system hooks) says. GitLab's integrations send "Service Hook".
 */
const PUSH_CARRIERS: ReadonlySet<string> = new Set(["Push Hook", "Tag Push Hook", "System Hook", "Service Hook"]);
const PUSH_KINDS: ReadonlySet<string> = new Set(["push", "tag_push"]);

/** `project.path_with_namespace`: "group/sub/project", namespaces nested to any depth. */
function repositoryName(payload: unknown): string | null {
  return nameField(field(payload, "project"), "path_with_namespace") ?? null;
}

function objectKind(payload: unknown): string | undefined {
  return nameField(payload, "object_kind") ?? nameField(payload, "event_name");
}

function parsePush(payload: unknown): ParseResult {
  if (!isObject(payload)) return { kind: "bad_request", message: "push payload is not a JSON object" };
  const repository = repositoryName(payload);
  if (repository === null) return { kind: "bad_request", message: "push payload has no project.path_with_namespace" };
  const { ref, after, checkout_sha: checkoutSha } = payload;
  if (typeof ref !== "string") return { kind: "bad_request", message: "push payload has no ref" };
  const refName = parseRef(ref);
  if (typeof refName === "string") return { kind: "bad_request", message: `push ${refName}` };
  if (typeof after !== "string") return { kind: "bad_request", message: "push payload has no after commit" };
  if (isZeroSha(after)) return { kind: "ignored", repository, reason: "deletion" };
  if (!isSha(after)) return { kind: "bad_request", message: "push payload's after is not a 40-hex commit id" };
  // For an annotated tag, `after` is the tag object and `checkout_sha` the commit it points at.
  if (checkoutSha !== undefined && checkoutSha !== null && !isSha(checkoutSha)) {
    return { kind: "bad_request", message: "push payload's checkout_sha is not a 40-hex commit id" };
  }
  const commit = (isSha(checkoutSha) ? checkoutSha : after).toLowerCase();
  const tagMessage = refName.sourceType === "tag" ? stringField(payload, "message") : undefined;
  return {
    kind: "push",
    repository,
    pushes: [
      {
        provider: "gitlab",
        repository,
        ref,
        ...refName,
        commit,
        commitMessage: messageOf(arrayField(payload, "commits"), commit) ?? tagMessage ?? "",
        pusher: nameField(payload, "user_username") ?? nameField(payload, "user_name") ?? null,
      },
    ],
  };
}

function parse(event: string, payload: unknown): ParseResult {
  if (PUSH_CARRIERS.has(event)) {
    if (!isObject(payload)) return { kind: "bad_request", message: `"${event}" payload is not a JSON object` };
    const kind = objectKind(payload);
    if (kind !== undefined && PUSH_KINDS.has(kind)) return parsePush(payload);
    const what = kind === undefined ? `event "${event}"` : `${event} of kind "${kind}"`;
    return { kind: "ignored", repository: repositoryName(payload), reason: `${what} builds nothing` };
  }
  return { kind: "ignored", repository: repositoryName(payload), reason: `event "${event}" builds nothing` };
}

function verifyToken(token: string, secret: string): VerifyResult {
  if (token === "") return { ok: false, reason: "empty" };
  return safeEqual(token, secret) ? { ok: true } : { ok: false, reason: "mismatch" };
}

/**
 * `X-Gitlab-Token` is the secret itself, compared in constant time. A hook with a signing token
 * sends a Standard Webhooks `webhook-signature` instead or as well: either one that matches will do.
 */
function verify(headers: Headers, rawBody: Buffer, secret: string): VerifyResult {
  const token = headerValue(headers, "x-gitlab-token");
  const byToken = token === undefined ? undefined : verifyToken(token, secret);
  if (byToken?.ok === true) return byToken;
  const bySignature = verifyStandardWebhook(headers, rawBody, secret);
  if (bySignature.ok || byToken === undefined) return bySignature;
  return byToken;
}

export const gitlab: Forge = {
  provider: "gitlab",

  detect(headers: Headers): boolean {
    return headerValue(headers, "x-gitlab-event") !== undefined;
  },

  event(headers: Headers): string | undefined {
    const event = headerValue(headers, "x-gitlab-event")?.trim();
    return event === "" ? undefined : event;
  },

  /**
   * `Idempotency-Key` stays the same across retries (GitLab 17.4+); before it, the per-request
   * `X-Gitlab-Webhook-UUID`. Never `X-Gitlab-Event-UUID`: every hook one event fires shares it.
   */
  deliveryKey(headers: Headers): string | undefined {
    for (const name of ["idempotency-key", "x-gitlab-webhook-uuid"]) {
      const value = headerValue(headers, name)?.trim();
      if (value) return value;
    }
    return undefined;
  },

  verify,
  parse,
};
