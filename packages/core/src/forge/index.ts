import { github } from "./github.js";
import type { Forge, Headers, Provider } from "./types.js";

export { github } from "./github.js";
export { headerValue } from "./headers.js";
export * from "./types.js";

/**
 * Every forge, in detection order. Forges that imitate GitHub's headers (Gitea, Gogs and
 * Forgejo send X-GitHub-Event as well) must come before `github`.
 */
export const FORGES: readonly Forge[] = [github];

/** The forge that sent a delivery to the shared `POST /hooks`, told by its headers. */
export function detectForge(headers: Headers): Forge | undefined {
  return FORGES.find((forge) => forge.detect(headers));
}

/** The forge for a linked source's provider, or undefined for one not implemented yet. */
export function forgeFor(provider: Provider): Forge | undefined {
  return FORGES.find((forge) => forge.provider === provider);
}
