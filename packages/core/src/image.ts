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

export interface ImageReference {
  /** The repository as the engine names it: "docker.io/library/alpine", "127.0.0.1:5000/acme/hello". */
  repository: string;
  /** The registry host: "docker.io" for Docker Hub. */
  registry: string;
  tag?: string;
  digest?: string;
}

/**
 * A reference as `docker` reads one: a first component with a "." or ":" (or "localhost") names the
 * registry, else Docker Hub, where one-part names live under "library/". Lower-cases nothing: Docker
 * refuses upper-case repositories rather than folding them.
 */
export function parseImageReference(ref: string): ImageReference {
  const [named = "", digest] = ref.split("@", 2);
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  const name = colon > slash ? named.slice(0, colon) : named;
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const first = name.split("/", 1)[0] ?? "";
  const hasRegistry = name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = hasRegistry ? first : "docker.io";
  let path = hasRegistry ? name.slice(first.length + 1) : name;
  if (DOCKER_HUB_HOSTS.has(registry.toLowerCase())) {
    registry = "docker.io";
    if (!path.includes("/")) path = `library/${path}`;
  }
  return { repository: `${registry}/${path}`, registry, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** A registry address as credentials name it ("https://index.docker.io/v1/", "127.0.0.1:5000") → its host as references name it. */
export function registryOfAddress(address: string): string {
  const host = registryHost(address).split("/", 1)[0] ?? "";
  return DOCKER_HUB_HOSTS.has(host.toLowerCase()) ? "docker.io" : host;
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
