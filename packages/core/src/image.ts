import type { SourceType } from "./build.js";

/** Names Docker uses for Docker Hub; images there are named "docker.io/…". */
const DOCKER_HUB_HOSTS: ReadonlySet<string> = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The registry host as an image name needs it: no scheme, no trailing slash. */
function registryHost(registry: string): string {
  return registry.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/+$/, "");
}

/** "127.0.0.1:5000" + "acme" + "hello" → "127.0.0.1:5000/acme/hello". */
export function imageName(registry: string, namespace: string, name: string): string {
  const host = registryHost(registry);
  const prefix = DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? "docker.io" : host;
  return `${prefix}/${namespace}/${name}`;
}

export interface BuildEnvInput {
  sourceType: SourceType;
  sourceName: string;
  commit: string;
  commitMessage: string;
  /** The image without a tag ("127.0.0.1:5000/acme/hello"). */
  image: string;
  /** The Dockerfile's path, relative to the context. */
  dockerfile: string;
  /** The first tag the build pushes. */
  tag: string;
}

/** Strips a ":tag" (not a registry port) and "@digest" should the caller pass one. */
function withoutTag(image: string): string {
  const bare = image.split("@")[0] ?? image;
  const slash = bare.lastIndexOf("/");
  const colon = bare.lastIndexOf(":");
  return colon > slash ? bare.slice(0, colon) : bare;
}

/**
 * Docker Hub's build environment, given to builds as build args (where the Dockerfile
 * declares them) and to hooks. Docker Hub sets SOURCE_BRANCH to the branch or tag name
 * for both kinds of source, so `sourceType` changes nothing here.
 */
export function dockerHubBuildEnv(input: BuildEnvInput): Record<string, string> {
  const repo = withoutTag(input.image);
  return {
    SOURCE_BRANCH: input.sourceName,
    SOURCE_COMMIT: input.commit,
    COMMIT_MSG: input.commitMessage,
    DOCKER_REPO: repo,
    DOCKERFILE_PATH: input.dockerfile,
    DOCKER_TAG: input.tag,
    IMAGE_NAME: `${repo}:${input.tag}`,
  };
}
