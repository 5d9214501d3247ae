import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples") as { name: string; examples: Record<string, any>[] }[];
const pushExample = examples.find((e) => e.name === "push")!.examples[0]!;

export interface PushInput {
  /** The forge's full name, e.g. "acme/hello". */
  repository: string;
  ref: string;
  after: string;
  before?: string;
  message?: string;
  cloneUrl: string;
}

/** A push delivery as GitHub sends it: its real example payload, pointed at our repository. */
export function githubPushPayload(input: PushInput): Record<string, unknown> {
  const [owner, name] = input.repository.split("/");
  const payload = structuredClone(pushExample);
  payload["ref"] = input.ref;
  payload["before"] = input.before ?? "0".repeat(40);
  payload["after"] = input.after;
  payload["created"] = false;
  payload["deleted"] = false;
  payload["repository"] = { ...payload["repository"], name, full_name: input.repository, clone_url: input.cloneUrl, owner: { ...payload["repository"].owner, login: owner, name: owner } };
  const commit = { ...(payload["head_commit"] ?? {}), id: input.after, message: input.message ?? "a commit" };
  payload["head_commit"] = commit;
  payload["commits"] = [commit];
  return payload;
}

export function signGithub(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface DeliveryOptions {
  event?: string;
  secret?: string;
  /** Overrides the computed signature header ("" sends it empty; null leaves it out). */
  signature?: string | null;
  deliveryId?: string;
  contentType?: string;
}

/** POSTs a delivery the way GitHub does: raw JSON body, signed over its exact bytes. */
export async function sendGithubDelivery(url: string, payload: unknown, options: DeliveryOptions = {}) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
    "user-agent": "GitHub-Hookshot/e2e",
    "x-github-event": options.event ?? "push",
    "x-github-delivery": options.deliveryId ?? randomUUID(),
    "x-github-hook-id": "4242",
  };
  const signature = options.signature === undefined ? (options.secret ? signGithub(options.secret, body) : null) : options.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined, deliveryId: headers["x-github-delivery"]! };
}
