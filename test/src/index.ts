export { startGitServer, isolatedGitEnv } from "./git-server.js";
export type { CommitOptions, CommitResult, CreateRepoOptions, FileContent, GitServer, GitServerOptions } from "./git-server.js";
export { ensureBaseImage } from "./base-image.js";
export type { BaseImageOptions } from "./base-image.js";
export { freePort, requireEnv, startSlipway, waitFor, REPO_ROOT } from "./support/slipway.js";
export type { ApiAnswer, Slipway, SlipwayOptions } from "./support/slipway.js";
export { githubPushPayload, sendGithubDelivery, signGithub } from "./support/github.js";
export { startEnvironment } from "./support/environment.js";
export type { Environment } from "./support/environment.js";
