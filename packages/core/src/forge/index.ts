import { bitbucket } from "./bitbucket.js";
import { bitbucketServer } from "./bitbucket-server.js";
import { gitea } from "./gitea.js";
import { github } from "./github.js";
import { gitlab } from "./gitlab.js";
import type { Forge, Headers, Provider } from "./types.js";

export { bitbucket } from "./bitbucket.js";
export { bitbucketServer } from "./bitbucket-server.js";
export { gitea } from "./gitea.js";
export { github } from "./github.js";
export { gitlab } from "./gitlab.js";
export { headerValue } from "./headers.js";
export { standardWebhookSignature } from "./standard-webhooks.js";
export * from "./types.js";

/**
 * Every forge, in detection order. Gitea, Gogs and Forgejo send X-GitHub-Event,
 * X-GitHub-Delivery and X-Hub-Signature-256 as well, so `gitea` comes before `github`; the two
 * Bitbucket flavours tell each other apart themselves.
 */
export const FORGES: readonly Forge[] = [gitea, gitlab, bitbucketServer, bitbucket, github];

/** The forge that sent a delivery to the shared `POST /hooks`, told by its headers. */
export function detectForge(headers: Headers): Forge | undefined {
  return FORGES.find((forge) => forge.detect(headers));
}

/** The forge for a linked source's provider, or undefined for one not implemented yet. */
export function forgeFor(provider: Provider): Forge | undefined {
  return FORGES.find((forge) => forge.provider === provider);
}
