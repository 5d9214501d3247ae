import { toBuildView, type BuildStatus, type BuildView } from "./build.js";
import { hmacHex } from "./signature.js";

/**
 * Outgoing webhooks (CONTRACT §7): what Slipway sends when a build ends. A successful push
 * sends Docker Hub's payload, one per pushed tag; a build that failed, was canceled or timed
 * out sends Slipway's own shape (no `push_data`, so a Docker Hub receiver that ignores the
 * event header never mistakes it for a push).
 */

export const WEBHOOK_EVENTS = ["push", "build_failed", "build_canceled", "build_timed_out"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Version 1 of the payloads; a receiver may match on it. */
export const WEBHOOK_USER_AGENT = "Slipway-Hookshot/1";

export const WEBHOOK_HEADERS = {
  event: "X-Slipway-Event",
  delivery: "X-Slipway-Delivery",
  hook: "X-Slipway-Hook-ID",
  signature: "X-Slipway-Signature-256",
} as const;

const EVENT_OF: Partial<Record<BuildStatus, WebhookEvent>> = {
  success: "push",
  failed: "build_failed",
  canceled: "build_canceled",
  timed_out: "build_timed_out",
};

/** The event a build's end sends; undefined for a status that sends none (running, superseded). */
export function webhookEventOf(status: BuildStatus): WebhookEvent | undefined {
  return EVENT_OF[status];
}

/** The signature header's value: `sha256=<hex HMAC-SHA256 of the body>`. */
export function webhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${hmacHex("sha256", secret, typeof body === "string" ? Buffer.from(body, "utf8") : body)}`;
}

/** What the payload needs of a repository. */
export interface WebhookRepositoryInput {
  namespace: string;
  name: string;
  private: boolean;
  description: string;
  createdAt: string;
}

export interface WebhookPayloadInput {
  event: WebhookEvent;
  /** The pushed tag this delivery is about (push); ignored for the other events. */
  tag: string | null;
  /** The build (a store record will do: only the API's fields are sent). */
  build: BuildView;
  repository: WebhookRepositoryInput;
  /** SLIPWAY_PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
}

/** Docker Hub's `repository` object, with what Slipway knows and null or 0 for the rest. */
export interface DockerHubRepository {
  comment_count: number;
  date_created: number;
  description: string;
  dockerfile: string | null;
  full_description: string | null;
  is_official: boolean;
  is_private: boolean;
  is_trusted: boolean;
  name: string;
  namespace: string;
  owner: string;
  repo_name: string;
  repo_url: string;
  star_count: number;
  status: string;
}

export interface PushPayload {
  callback_url: string;
  push_data: { pushed_at: number; pusher: string; tag: string; images: string[] };
  repository: DockerHubRepository;
  /** Slipway's addition: the build as the API shows it. */
  build: BuildView;
}

export interface BuildEndedPayload {
  event: Exclude<WebhookEvent, "push">;
  callback_url: string;
  repository: DockerHubRepository;
  build: BuildView;
}

/** After `docker push` by hand: Docker Hub's payload, with the push instead of a build. */
export interface PushedByHandPayload {
  callback_url: string;
  push_data: { pushed_at: number; pusher: string; tag: string; images: string[] };
  repository: DockerHubRepository;
  /** Slipway's addition: no build made this image. */
  build: null;
}

export type WebhookPayload = PushPayload | BuildEndedPayload | PushedByHandPayload;

/** Seconds since the epoch, as Docker Hub gives times. */
function unixSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

function toDockerHubRepository(repo: WebhookRepositoryInput, publicUrl: string): DockerHubRepository {
  const fullName = `${repo.namespace}/${repo.name}`;
  return {
    comment_count: 0,
    date_created: unixSeconds(repo.createdAt),
    description: repo.description,
    dockerfile: null,
    full_description: null,
    is_official: false,
    is_private: repo.private,
    // Docker Hub marks automated builds "trusted": every Slipway image is one.
    is_trusted: true,
    name: repo.name,
    namespace: repo.namespace,
    owner: repo.namespace,
    repo_name: fullName,
    repo_url: `${publicUrl}/#/r/${fullName}`,
    star_count: 0,
    status: "Active",
  };
}


/** The payload of one delivery. */
export function toWebhookPayload(input: WebhookPayloadInput): PushPayload | BuildEndedPayload {
  const { event, publicUrl } = input;
  const build = toBuildView(input.build);
  // Docker Hub's receivers may POST a validation here; Slipway's is the build in its API (GET).
  const callbackUrl = `${publicUrl}/api/v1/builds/${build.id}`;
  const repository = toDockerHubRepository(input.repository, publicUrl);
  if (event !== "push") return { event, callback_url: callbackUrl, repository, build };
  return {
    callback_url: callbackUrl,
    push_data: {
      pushed_at: unixSeconds(build.finishedAt ?? build.queuedAt),
      pusher: "slipway",
      tag: input.tag ?? build.tags[0] ?? "latest",
      images: build.digest ? [`${build.image}@${build.digest}`] : [],
    },
    repository,
    build,
  };
}

export interface PushedByHandInput {
  push: { tag: string; digest: string; pusher: string; pushedAt: string };
  /** The image's name without a tag ("127.0.0.1:5000/acme/app"). */
  image: string;
  repository: WebhookRepositoryInput;
  publicUrl: string;
}

/** The payload of a delivery about an image pushed by hand (Docker Hub sends the same after a `docker push`). */
export function toPushedByHandPayload(input: PushedByHandInput): PushedByHandPayload {
  const repository = toDockerHubRepository(input.repository, input.publicUrl);
  return {
    callback_url: `${input.publicUrl}/api/v1/repositories/${repository.repo_name}`,
    push_data: {
      pushed_at: unixSeconds(input.push.pushedAt),
      pusher: input.push.pusher,
      tag: input.push.tag,
      images: [`${input.image}@${input.push.digest}`],
    },
    repository,
    build: null,
  };
}
