import { readFile, stat } from "node:fs/promises";
import { statSync } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import dockerignore from "@balena/dockerignore";
import { pack } from "tar-fs";
import { SlipwayError, type ErrorCode } from "@slipway/core";

export interface BuildRequest {
  contextDir: string;
  /** Relative to contextDir, posix separators (as resolveBuildPaths returns it). */
  dockerfile: string;
  /** Full references, e.g. "127.0.0.1:5000/acme/hello:latest"; the first is built, the others tagged. */
  tags: string[];
  buildArgs: Record<string, string>;
  /** false: build without the layer cache. */
  cache: boolean;
  labels?: Record<string, string>;
  /**
   * Images whose layers may serve as cache (with `cache` on): the last images of the build's
   * tags. One the engine lacks is pulled first, with `auth`; one that cannot be had is skipped.
   */
  cacheFrom?: { refs: string[]; auth?: RegistryAuth };
  /** Build output as it arrives: text with its own newlines. */
  log: (chunk: string) => void;
  /**
   * Told of the image each step leaves, as the engine reports it (a short id): a build that fails
   * leaves its last step's image, and the steps before it, behind.
   */
  onStepImage?: (imageId: string) => void;
}

/**
 * Credentials for one registry, as the engine takes them (X-Registry-Auth): an account's, for a
 * repository's own registry, or a bearer token Slipway minted, for Slipway's registry (the engine
 * sends it to the registry as it is, asking no token service).
 */
export type RegistryAuth =
  | { username: string; password: string; serveraddress: string }
  | { registrytoken: string; serveraddress: string };

/**
 * Where a build gets its registry credentials for each use. A token expires: one is minted for
 * every push attempt and every hook call, so a push at the end of a long build carries a fresh one.
 */
export interface RegistryCredentials {
  /** The registry they are for, as image names give it ("127.0.0.1:5000"). */
  serveraddress: string;
  get(): Promise<RegistryAuth>;
}

/** What must never appear in a message: the password, or the token. */
function secretOf(auth: RegistryAuth): string {
  return "password" in auth ? auth.password : auth.registrytoken;
}

export interface PushRequest {
  /** A full reference, e.g. "127.0.0.1:5000/acme/hello:latest". */
  tag: string;
  /** The image to push under `tag`: tagged with it first. */
  imageId?: string;
  auth?: RegistryAuth;
  log: (chunk: string) => void;
}

export interface ImageBuilder {
  build(req: BuildRequest, signal: AbortSignal): Promise<{ imageId: string }>;
  push(req: PushRequest, signal: AbortSignal): Promise<{ digest: string }>;
  /** The image a local reference names, or undefined when the engine has none by that name. */
  inspect(ref: string): Promise<{ imageId: string; repoDigests: string[] } | undefined>;
  /** Gives an image another local reference (what hooks expect as IMAGE_NAME). */
  tag(imageId: string, ref: string): Promise<void>;
  /** Removes a local tag, keeping the image's layers (they are the next build's cache). */
  untag(ref: string): Promise<void>;
  /** Resolves when the engine answers; docker_unavailable otherwise. */
  ping(): Promise<void>;
}

export interface DockerImageBuilderOptions {
  docker: Dockerode;
  /**
   * The network build steps run on; the engine's default when unset. An engine that Slipway
   * starts has no bridge, so its builds have no network at all.
   */
  network?: string;
}

export function createDockerImageBuilder(options: DockerImageBuilderOptions): ImageBuilder {
  const { docker } = options;
  const engine = describeEngine(docker);

  /** The cache images the engine has or can pull now; a missing one is no error (a first build). */
  async function present(refs: string[], auth: RegistryAuth | undefined, log: (chunk: string) => void, signal: AbortSignal): Promise<string[]> {
    const found: string[] = [];
    for (const ref of refs) {
      try {
        await docker.getImage(ref).inspect();
        found.push(ref);
        continue;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw toEngineError(err, signal, engine);
      }
      try {
        const stream = await docker.pull(ref, { authconfig: auth ?? {}, abortSignal: signal });
        let failure: string | undefined;
        await followJsonStream(stream, signal, (message) => {
          failure = errorOf(message) ?? failure;
        });
        if (failure !== undefined) throw new Error(failure);
        log(`Pulled ${ref} as a cache source\n`);
        found.push(ref);
      } catch (err) {
        signal.throwIfAborted();
        const message = err instanceof Error ? err.message : String(err);
        // A tag's first build has no earlier image: that is no failure worth a line of detail.
        log(/not found|manifest unknown/i.test(message) ? `No earlier ${ref} to take cache from\n` : `No cache from ${ref}: ${message}\n`);
      }
    }
    return found;
  }
  async function tagImage(imageId: string, ref: string, signal: AbortSignal): Promise<void> {
    const { repository, tag } = splitReference(ref);
    try {
      await docker.getImage(imageId).tag({ repo: repository, tag });
    } catch (err) {
      throw toEngineError(err, signal, engine, (message) => new SlipwayError("invalid_tag", `could not tag ${ref}: ${message}`));
    }
  }

  return {
    async build(req, signal) {
      signal.throwIfAborted();
      const [first, ...others] = req.tags;
      if (first === undefined) throw new SlipwayError("invalid_tag", "a build needs at least one tag");
      const cacheFrom = req.cache && req.cacheFrom ? await present(req.cacheFrom.refs, req.cacheFrom.auth, req.log, signal) : [];
      const context = await packContext(req.contextDir, req.dockerfile);
      let stream: NodeJS.ReadableStream;
      try {
        stream = await docker.buildImage(context, {
          t: first,
          dockerfile: req.dockerfile,
          buildargs: req.buildArgs,
          nocache: !req.cache,
          ...(cacheFrom.length > 0 ? { cachefrom: JSON.stringify(cacheFrom) } : {}),
          ...(options.network === undefined ? {} : { networkmode: options.network }),
          // Intermediate containers go, whether the build succeeds, fails or its connection is closed.
          rm: true,
          forcerm: true,
          ...(req.labels === undefined ? {} : { labels: req.labels }),
          abortSignal: signal,
        });
      } catch (err) {
        context.destroy();
        throw toEngineError(err, signal, engine, (message) =>
          /invalid reference format|invalid tag/i.test(message)
            ? new SlipwayError("invalid_tag", `the engine refused the tag ${first}: ${message}`)
            : new SlipwayError("dockerfile_error", `${message} (see the build log)`),
        );
      }

      let imageId: string | undefined;
      let builtShortId: string | undefined;
      let stepContainer: string | undefined;
      let failure: string | undefined;
      const progress = createProgressLog(req.log);
      try {
        await followJsonStream(stream, signal, (message) => {
          if (typeof message.stream === "string") {
            req.log(message.stream);
            builtShortId = /^Successfully built ([0-9a-f]{12,64})\s*$/m.exec(message.stream)?.[1] ?? builtShortId;
            stepContainer = /^ ---> Running in ([0-9a-f]{12,64})\s*$/m.exec(message.stream)?.[1] ?? stepContainer;
            const stepImage = /^ ---> ([0-9a-f]{12,64})\s*$/m.exec(message.stream)?.[1];
            if (stepImage !== undefined) req.onStepImage?.(stepImage);
          } else if (message.status !== undefined) {
            progress(message);
          }
          if (typeof message.aux?.ID === "string") imageId = message.aux.ID;
          const error = errorOf(message);
          if (error !== undefined) failure = error;
        });
      } catch (err) {
        context.destroy();
        // The engine kills and removes the step's container when the connection closes (rm/forcerm);
        // removing it here as well keeps that true behind proxies that hold the connection open.
        if (signal.aborted && stepContainer !== undefined) await removeContainer(docker, stepContainer);
        throw toEngineError(err, signal, engine);
      }

      if (failure !== undefined) {
        // A base image that could not be pulled because its registry is down is worth retrying; anything else is the Dockerfile's.
        const code = isPullFailure(failure) && classifyRegistryError(failure) === "registry_unavailable" ? "registry_unavailable" : "dockerfile_error";
        throw new SlipwayError(code, `${failure} (see the build log)`);
      }
      imageId ??= builtShortId === undefined ? undefined : await inspectId(docker, builtShortId, engine);
      if (imageId === undefined) {
        // Never fall back to whatever the tag points at: that may be an older build.
        throw new SlipwayError("docker_unavailable", `the Docker engine at ${engine} ended the build without reporting an image`);
      }
      for (const ref of others) await tagImage(imageId, ref, signal);
      return { imageId };
    },

    async push(req, signal) {
      signal.throwIfAborted();
      const { repository, tag } = splitReference(req.tag);
      const { auth } = req;
      const secrets = auth === undefined ? [] : [secretOf(auth)];
      if (req.imageId !== undefined) await tagImage(req.imageId, req.tag, signal);
      let stream: NodeJS.ReadableStream;
      // A token is not checked first: the engine's login takes a username and password only.
      if (auth !== undefined && "password" in auth) {
        // The engine retries a refused layer upload for about 50 s before it gives up; asking the
        // registry about the credentials first (as `docker login` does) refuses them at once.
        try {
          await docker.checkAuth({ ...auth, abortSignal: signal });
        } catch (err) {
          throw toEngineError(err, signal, engine, (message) => new SlipwayError(classifyRegistryError(message), `the registry ${auth.serveraddress} refused the credentials: ${redact(message, secrets)}`));
        }
      }
      try {
        // Always an X-Registry-Auth header, empty without credentials: lacking one, the engine reads
        // credentials from the request body, where dockerode puts the query options.
        stream = await docker.getImage(repository).push({ tag, authconfig: auth ?? {}, abortSignal: signal });
      } catch (err) {
        throw toEngineError(err, signal, engine, (message) => new SlipwayError(classifyRegistryError(message), `pushing ${req.tag} failed: ${redact(message, secrets)}`));
      }

      let digest: string | undefined;
      let failure: string | undefined;
      const progress = createProgressLog(req.log);
      try {
        await followJsonStream(stream, signal, (message) => {
          if (message.status !== undefined) progress(message);
          if (typeof message.aux?.Digest === "string") digest = message.aux.Digest;
          digest ??= /digest: (sha256:[0-9a-f]{64}) size:/.exec(message.status ?? "")?.[1];
          const error = errorOf(message);
          if (error !== undefined) failure = error;
        });
      } catch (err) {
        throw toEngineError(err, signal, engine);
      }
      if (failure !== undefined) {
        throw new SlipwayError(classifyRegistryError(failure), `pushing ${req.tag} failed: ${redact(failure, secrets)}`);
      }
      if (digest === undefined) {
        throw new SlipwayError("registry_unavailable", `pushing ${req.tag} ended without the registry reporting a digest`);
      }
      return { digest };
    },

    async inspect(ref) {
      try {
        const image = await docker.getImage(ref).inspect();
        return { imageId: image.Id, repoDigests: image.RepoDigests ?? [] };
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw toEngineError(err, new AbortController().signal, engine);
      }
    },

    tag: (imageId, ref) => tagImage(imageId, ref, new AbortController().signal),

    async untag(ref) {
      try {
        await docker.getImage(ref).remove({ noprune: true });
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
        throw toEngineError(err, new AbortController().signal, engine);
      }
    },

    async ping() {
      try {
        await docker.ping();
      } catch (err) {
        throw new SlipwayError("docker_unavailable", `the Docker engine at ${engine} does not answer (${describeError(err)}): is it running?`, { cause: err });
      }
    },
  };
}

/**
 * Registry failures as the engine reports them, worth retrying or not. Matched against the messages
 * Docker 20.10 gives for a registry that is down, answers 5xx, or refuses the credentials.
 */
const REGISTRY_ERRORS: ReadonlyArray<readonly [RegExp, ErrorCode]> = [
  [/unauthorized|authentication required|no basic auth credentials|incorrect username or password|denied|forbidden|insufficient_scope|status: 40[13]\b/i, "registry_refused"],
  [
    /connection refused|no such host|server misbehaving|i\/o timeout|timeout|timed out|deadline exceeded|connection reset|broken pipe|\bEOF\b|TLS handshake|network is unreachable|no route to host|status: 5\d\d\b|status: 429\b|toomanyrequests|service unavailable|bad gateway|gateway time-?out|internal server error/i,
    "registry_unavailable",
  ],
];

/** registry_unavailable (retry) or registry_refused (do not); a message it does not recognise is refused. */
export function classifyRegistryError(message: string): ErrorCode {
  for (const [pattern, code] of REGISTRY_ERRORS) {
    if (pattern.test(message)) return code;
  }
  return "registry_refused";
}

/** "host:port/ns/name:tag" → repository and tag ("latest" when none). */
export function splitReference(ref: string): { repository: string; tag: string } {
  if (ref.includes("@")) throw new SlipwayError("invalid_tag", `${ref} names a digest; a tag is needed`);
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: "latest" };
}

export interface DockerMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

function errorOf(message: DockerMessage): string | undefined {
  return message.errorDetail?.message ?? message.error;
}

/**
 * Reads the engine's newline-delimited JSON as it arrives. Decodes across chunk boundaries (a chunk may
 * end mid-line or mid-character); a line that is not JSON is passed on as build text rather than dropped.
 */
export async function followJsonStream(stream: NodeJS.ReadableStream, signal: AbortSignal, onMessage: (message: DockerMessage) => void): Promise<void> {
  const readable = stream as Readable;
  const onAbort = () => readable.destroy(toAbortError(signal));
  signal.addEventListener("abort", onAbort, { once: true });
  const decoder = new TextDecoder();
  let pending = "";
  const emit = (line: string) => {
    const text = line.trim();
    if (text === "") return;
    let message: DockerMessage;
    try {
      message = JSON.parse(text) as DockerMessage;
    } catch {
      message = { stream: `${line}\n` };
    }
    onMessage(message);
  };
  try {
    for await (const chunk of readable as AsyncIterable<Buffer | string>) {
      pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        emit(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
    }
    emit(pending + decoder.decode());
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  signal.throwIfAborted();
}

/** Pull and push progress, one line per layer state change; the ticking "Downloading"/"Pushing" states are left out. */
function createProgressLog(log: (chunk: string) => void): (message: DockerMessage) => void {
  const TICKING = new Set(["Preparing", "Waiting", "Pushing", "Downloading", "Extracting", "Verifying Checksum", "Pulling fs layer"]);
  const last = new Map<string, string>();
  return (message) => {
    const status = message.status ?? "";
    if (message.id === undefined) {
      log(`${status}\n`);
      return;
    }
    const previous = last.get(message.id);
    last.set(message.id, status);
    if (TICKING.has(status) || previous === status || isSameRetryCountdown(previous, status)) return;
    log(`${message.id}: ${status}\n`);
  };
}

/** "Retrying in 4 seconds" after "Retrying in 5 seconds" is the same retry counting down. */
function isSameRetryCountdown(previous: string | undefined, status: string): boolean {
  const seconds = (text: string | undefined) => Number(/^Retrying in (\d+) seconds?$/.exec(text ?? "")?.[1] ?? Number.NaN);
  return seconds(status) < seconds(previous);
}

async function removeContainer(docker: Dockerode, id: string): Promise<void> {
  const removal = docker
    .getContainer(id)
    .remove({ force: true })
    .then(
      () => undefined,
      // 404/409: the engine removed it first, as it should; anything else changes nothing for an aborted build.
      (err: unknown) => err,
    );
  await Promise.race([removal, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
}

function isPullFailure(message: string): boolean {
  return /pull|manifest|\/v2\/|registry|dial tcp|head "/i.test(message);
}

/**
 * The context as the docker CLI sends it: .dockerignore honoured, with the Dockerfile and .dockerignore
 * always included (the engine reads both, then drops them itself if they are ignored); owners reset to root.
 * Symlinks are sent as symlinks, never followed, so none can pull in files from outside the context.
 */
async function packContext(contextDir: string, dockerfile: string): Promise<Readable> {
  const patterns = await readFile(path.join(contextDir, ".dockerignore"), "utf8").catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  });
  if (!(await stat(path.join(contextDir, dockerfile)).catch(() => undefined))?.isFile()) {
    throw new SlipwayError("dockerfile_not_found", `no Dockerfile at ${dockerfile} in the build context`);
  }
  const matcher = dockerignore.default().add(patterns);
  // With "!" exceptions an ignored folder may hold files that are not: walk into it (as docker does).
  const hasExceptions = /^\s*!/m.test(patterns);
  const kept = [path.posix.normalize(dockerfile), ".dockerignore"];
  const ignore = (absolute: string): boolean => {
    const rel = path.relative(contextDir, absolute).split(path.sep).join("/");
    if (kept.some((keep) => keep === rel || keep.startsWith(`${rel}/`))) return false;
    if (!matcher.ignores(rel)) return false;
    return !(hasExceptions && statSync(absolute, { throwIfNoEntry: false })?.isDirectory() === true);
  };
  return pack(contextDir, {
    ignore,
    map: (header) => Object.assign(header, { uid: 0, gid: 0, uname: "", gname: "" }),
  }) as unknown as Readable;
}

async function inspectId(docker: Dockerode, id: string, engine: string): Promise<string> {
  try {
    return (await docker.getImage(id).inspect()).Id;
  } catch (err) {
    throw new SlipwayError("docker_unavailable", `the Docker engine at ${engine} could not show the image it built (${describeError(err)})`, { cause: err });
  }
}

/**
 * Failures of a call to the engine: abort → the signal's reason; no connection → docker_unavailable;
 * an HTTP answer with an error → what `onAnswer` makes of the engine's message.
 */
function toEngineError(err: unknown, signal: AbortSignal, engine: string, onAnswer?: (message: string) => SlipwayError): Error {
  if (signal.aborted) return toAbortError(signal);
  if (err instanceof SlipwayError) return err;
  const answer = engineAnswer(err);
  if (answer !== undefined && onAnswer !== undefined) return onAnswer(answer);
  return new SlipwayError("docker_unavailable", `the Docker engine at ${engine} failed (${answer ?? describeError(err)})`, { cause: err });
}

/** The engine's own message when it answered with an HTTP error (dockerode puts it in `json.message`). */
function engineAnswer(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("statusCode" in err)) return undefined;
  const json = (err as { json?: unknown }).json;
  if (typeof json === "object" && json !== null && typeof (json as { message?: unknown }).message === "string") {
    return (json as { message: string }).message;
  }
  if (typeof json === "string" && json.trim() !== "") return json.trim();
  // dockerode's own wording: "(HTTP code 400) unexpected - <the engine's message>".
  return (err instanceof Error ? err.message : "the engine gave no reason").replace(/^\(HTTP code \d+\)[^-]*- /, "").trim();
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function describeEngine(docker: Dockerode): string {
  const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown };
  if (typeof modem.socketPath === "string") return `unix://${modem.socketPath}`;
  const port = typeof modem.port === "number" || typeof modem.port === "string" ? `:${modem.port}` : "";
  if (typeof modem.host === "string") return `${modem.host}${port}`;
  return "DOCKER_HOST";
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("***");
  return out;
}

function toAbortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException(typeof reason === "string" ? reason : "The build was aborted", "AbortError");
}
