export { startGitServer, isolatedGitEnv } from "./git-server.js";
export type { CommitOptions, CommitResult, CreateRepoOptions, FileContent, GitServer, GitServerOptions } from "./git-server.js";
export { ensureBaseImage } from "./base-image.js";
export type { BaseImageOptions } from "./base-image.js";
