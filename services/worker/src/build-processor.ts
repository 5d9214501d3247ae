import {
  declaredBuildArgs,
  dockerHubBuildEnv,
  isRetryable,
  isSlipwayError,
  isTerminal,
  parseImageReference,
  SlipwayError,
  type BuildStatus,
  type ErrorBody,
  type SecretBox,
} from "@slipway/core";
import type { BuildEventBus, BuildProcessor, Locks } from "@slipway/queue";
import type { BuildRecord, BuildUpdate, RepositoryRecord, Store } from "@slipway/store";
import { readFile, realpath } from "node:fs/promises";
import { join, relative } from "node:path";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { createBuildLog, type BuildLog } from "./build-log.js";
import { loadBuildVariables, secretForms, withoutSecrets, type BuildVariables } from "./build-variables.js";
import type { ImageBuilder, RegistryCredentials } from "./image-builder.js";
import { findHooks, type HookName, type HookRunner, type HookSession } from "./hooks/build-hooks.js";
import { resolveBuildPaths, type BuildPaths, type SourceCheckout } from "./source-checkout.js";

export interface ProcessorDeps {
  store: Store;
  bus: BuildEventBus;
  builder: ImageBuilder;
  /** Serialises pushes of one image reference across workers. */
  locks: Locks;
  /** A checkout for one build, writing its progress to that build's log. */
  createCheckout: (log: (line: string) => void) => SourceCheckout;
  secrets: SecretBox;
  logger: Logger;
  pushAttempts: number;
  /** First wait between push attempts; doubles each time. */
  pushRetryMs?: number;
  buildTimeoutMs: number;
  /** How often a running build re-reads its record, to stop if it was canceled (a lost event). */
  watchMs?: number;
  /** Told of every build this worker ends (outgoing webhooks); its failures are logged, never the build's. */
  onEnded?: (build: BuildRecord) => Promise<void>;
  /** Runs Docker Hub's `hooks/`; without it, a build that has hooks fails saying this worker cannot run them. */
  hooks?: HookRunner;
  /**
   * Told of the image each build made, or of what a failed build left (the image pruner); its
   * failures are logged, never the build's.
   */
  onImageBuilt?: (imageId: string) => Promise<void>;
  /**
   * A token for Slipway's own registry that lets one build pull and push its one repository (a path
   * without the registry host); without it, builds reach that registry anonymously.
   */
  registryToken?: (buildId: string, repository: string) => Promise<string>;
}

const RUNNING: BuildStatus[] = ["cloning", "building", "pushing"];

/** A build without hooks. */
const NO_HOOKS: HookSession = { has: () => false, run: async () => undefined, close: async () => undefined };

/** Thrown when the record moved under us: someone canceled the build. */
class BuildEnded extends Error {}

/**
 * The build job: clone → build → push → record. Every failure ends the build with a
 * stable code and a message a user can act on; nothing is rethrown to BullMQ, whose own
 * retries are only for a worker that died (a stalled job is picked up again).
 */
export function createBuildProcessor(deps: ProcessorDeps): BuildProcessor {
  const { store, bus, logger } = deps;

  /** Status events are a courtesy to followers: a Redis hiccup must not fail a build. */
  async function announce(buildId: string, status: BuildStatus): Promise<void> {
    try {
      await bus.publish({ type: "status", buildId, status });
    } catch (err) {
      logger.warn({ err, build: buildId }, "could not announce a status change");
    }
  }

  async function move(build: BuildRecord, from: BuildStatus[], to: BuildStatus, update: BuildUpdate = {}): Promise<BuildRecord> {
    const moved = await store.transitionBuild(build.id, from, to, update);
    if (!moved) throw new BuildEnded(`build ${build.id} is no longer ${from.join("/")}`);
    await announce(build.id, to);
    return moved;
  }

  /** Ends the build, its log written out first so that followers see the last line. */
  async function end(build: BuildRecord, log: BuildLog, status: BuildStatus, error: ErrorBody | null, update: BuildUpdate = {}): Promise<void> {
    await log.flush();
    const moved = await store.transitionBuild(build.id, ["queued", ...RUNNING], status, {
      ...update,
      error,
      finishedAt: new Date().toISOString(),
    });
    if (!moved) return;
    await announce(build.id, status);
    try {
      await deps.onEnded?.(moved);
    } catch (err) {
      logger.error({ err, build: build.id }, "could not act on the build's end");
    }
  }

  /**
   * A repository with a registry of its own pushes with the account it was given (or none); one on
   * Slipway's registry with a token minted for this build alone, which a hook cannot use elsewhere.
   */
  function registryCredentials(repo: RepositoryRecord, build: BuildRecord): RegistryCredentials | undefined {
    if (repo.registryUrl) {
      if (!repo.registryUsername || !repo.registryPasswordEnc) return undefined;
      const auth = { username: repo.registryUsername, password: deps.secrets.open(repo.registryPasswordEnc), serveraddress: repo.registryUrl.split("/")[0]! };
      return { serveraddress: auth.serveraddress, get: () => Promise.resolve(auth) };
    }
    const mint = deps.registryToken;
    if (mint === undefined) return undefined;
    const { registry } = parseImageReference(build.image);
    const repository = build.image.slice(registry.length + 1);
    return { serveraddress: registry, get: async () => ({ registrytoken: await mint(build.id, repository), serveraddress: registry }) };
  }

  /** What one build works with once its source is checked out. */
  interface Prepared {
    /** The clone's real path. */
    cloneDir: string;
    paths: BuildPaths;
    /** Docker Hub's build environment: build args where declared, and every hook's environment. */
    env: Record<string, string>;
    variables: BuildVariables;
    credentials: RegistryCredentials | undefined;
    hooks: HookSession;
    log: BuildLog;
    signal: AbortSignal;
  }

  /** Tells the image pruner of an image the build made; its failures are logged, never the build's. */
  async function noteImage(build: BuildRecord, imageId: string): Promise<void> {
    await deps.onImageBuilt?.(imageId).catch((err: unknown) => logger.warn({ err, build: build.id }, "could not note the build's image for pruning"));
  }

  /** Runs a hook, if the build has it. Hooks see build variables: their failures are masked like the build's. */
  async function hook(prepared: Prepared, name: HookName): Promise<void> {
    try {
      await prepared.hooks.run(name, prepared.signal);
    } catch (err) {
      throw withoutSecrets(err, prepared.variables.secrets);
    }
  }

  async function buildImage(build: BuildRecord, prepared: Prepared): Promise<{ imageId: string; ref: string | undefined }> {
    const { paths, variables, credentials, log, signal } = prepared;
    const imageName = prepared.env["IMAGE_NAME"]!;
    if (prepared.hooks.has("build")) {
      // Docker Hub's contract: the build hook leaves the image as $IMAGE_NAME.
      await hook(prepared, "build");
      const built = await deps.builder.inspect(imageName);
      if (built === undefined) throw new SlipwayError("hook_failed", `hooks/build ended without an image ${imageName}: build it with -t $IMAGE_NAME`);
      return { imageId: built.imageId, ref: undefined };
    }
    // Hooks ran with the clone writable: what they left is checked again (a folder swapped for a link
    // to one outside the clone must not become the build context).
    if (prepared.hooks.has("post_checkout") || prepared.hooks.has("pre_build")) {
      const again = await resolveBuildPaths(prepared.cloneDir, build.context, build.dockerfile, build.commit);
      if (again.contextDir !== paths.contextDir || again.dockerfilePath !== paths.dockerfilePath) {
        throw new SlipwayError("path_outside_clone", "a hook moved the build context or the Dockerfile: hooks may change files in it, not where it is");
      }
    }
    const dockerfileText = await readFile(join(paths.contextDir, paths.dockerfilePath), "utf8");
    const declared = declaredBuildArgs(dockerfileText);
    const declaredOnly = (vars: Record<string, string>) => Object.fromEntries(Object.entries(vars).filter(([name]) => declared.has(name)));
    // Later wins: Docker Hub's variables, then the repository's variables, then the rule's build args.
    const buildArgs = { ...declaredOnly(prepared.env), ...declaredOnly(variables.values), ...build.buildArgs };
    // Built under a tag of its own: a concurrent build of the same image must not move it
    // before this one is pushed. The pushed tags are set at push time, under a lock.
    const ref = `${build.image}:slipway-build-${build.id}`;
    log.line(`Building ${paths.dockerfilePath} (context ${build.context || "/"}) for ${build.tags.join(", ")}`);
    let imageId: string;
    let lastStep: string | undefined;
    try {
      ({ imageId } = await deps.builder.build(
        {
          contextDir: paths.contextDir,
          dockerfile: paths.dockerfilePath,
          tags: [ref],
          buildArgs,
          cache: build.cache,
          // Docker Hub's build cache: the last image of each tag, pulled if this engine lacks it.
          cacheFrom: { refs: build.tags.map((tag) => `${build.image}:${tag}`), ...(credentials ? { auth: await credentials.get() } : {}) },
          log: log.write,
          onStepImage: (id) => (lastStep = id),
        },
        signal,
      ));
    } catch (err) {
      // What a failed build left (its last step's image, on the steps before it) goes like a superseded image.
      if (lastStep !== undefined) await noteImage(build, lastStep);
      // The engine's message may quote an expanded arg (`FROM $SECRET`): it becomes the build's
      // error (an API answer) and may reach the worker's own log, which the build log's masking does not cover.
      throw withoutSecrets(err, variables.secrets);
    }
    // Later hooks find the image where Docker Hub leaves it.
    if (prepared.hooks.has("post_build") || prepared.hooks.has("pre_push") || prepared.hooks.has("push") || prepared.hooks.has("post_push")) {
      await deps.builder.tag(imageId, imageName);
    }
    return { imageId, ref };
  }

  /**
   * Pushes each tag while holding its lock, claiming it first: an older commit's build
   * that waited for the lock then finds the tag taken and leaves it alone.
   */
  async function pushTags(build: BuildRecord, rank: string, imageId: string, credentials: RegistryCredentials | undefined, log: BuildLog, signal: AbortSignal) {
    const pushed: string[] = [];
    let digest: string | null = null;
    for (const tag of build.tags) {
      const ref = `${build.image}:${tag}`;
      await deps.locks.withLock(`push:${ref}`, async () => {
        const [claimed] = await store.claimTags(build.repositoryId, build.id, [tag], rank);
        if (claimed === undefined) {
          log.line(`Not pushing ${ref}: a build of a newer commit already pushed it`);
          return;
        }
        log.line(`Pushing ${ref}`);
        const push = async () => deps.builder.push({ tag: ref, imageId, ...(credentials ? { auth: await credentials.get() } : {}), log: log.write }, signal);
        const result = await pRetry(push, {
          retries: deps.pushAttempts - 1,
          minTimeout: deps.pushRetryMs ?? 1_000,
          factor: 2,
          signal,
          shouldRetry: ({ error }) => isSlipwayError(error) && isRetryable(error.code),
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft > 0 && isSlipwayError(error) && isRetryable(error.code)) {
              log.line(`Push attempt ${attemptNumber} failed (${error.message}); trying again`);
            }
          },
        });
        digest = result.digest;
        pushed.push(tag);
      }, signal);
    }
    return { pushed, digest };
  }

  /**
   * The push hook replaces the push. The build's tags are claimed first, as for a push of its own: a
   * build of an older commit runs no push hook once a newer one has pushed its tags.
   */
  async function pushByHook(build: BuildRecord, rank: string, prepared: Prepared): Promise<{ pushed: string[]; digest: string | null }> {
    let pushed: string[] = [];
    await deps.locks.withLock(
      `push:${build.image}:${build.tags[0] ?? "latest"}`,
      async () => {
        pushed = await store.claimTags(build.repositoryId, build.id, build.tags, rank);
        if (pushed.length === 0) {
          prepared.log.line("Not running hooks/push: a build of a newer commit already pushed these tags");
          return;
        }
        await hook(prepared, "push");
      },
      prepared.signal,
    );
    const image = await deps.builder.inspect(prepared.env["IMAGE_NAME"]!);
    const digest = image?.repoDigests.find((d) => d.startsWith(`${build.image}@`))?.split("@")[1] ?? null;
    return { pushed, digest };
  }

  async function run(build: BuildRecord, log: BuildLog, signal: AbortSignal): Promise<void> {
    // Read before anything the build prints reaches its log, so that every line is masked.
    // Hooks get the same values as environment.
    const variables = await loadBuildVariables(store, deps.secrets, build.repositoryId);
    log.addSecrets(secretForms(variables.secrets));
    const source = await store.getSourceOfRepository(build.repositoryId);
    if (!source) throw new SlipwayError("clone_failed", "the repository has no linked source any more");
    const repo = await store.getRepository(build.repositoryId);
    if (!repo) throw new SlipwayError("clone_failed", "the repository was deleted");

    const credentials = source.credentialsEnc
      ? (JSON.parse(deps.secrets.open(source.credentialsEnc)) as { username?: string; password: string })
      : undefined;
    const gitRef = `refs/${build.sourceType === "branch" ? "heads" : "tags"}/${build.sourceName}`;
    const checkout = await deps
      .createCheckout((line) => log.write(`${line}\n`))
      .checkout({ cloneUrl: source.cloneUrl, commit: build.commit, ref: gitRef, ...(credentials ? { credentials } : {}) }, signal);
    let builtRef: string | undefined;
    // The build's own tag goes before the build is said to have ended, so that whoever acts on its
    // end (a pull of its image on this engine) never races the removal; a failed build's, at the end.
    const removeBuiltRef = async () => {
      const ref = builtRef;
      builtRef = undefined;
      if (ref) await deps.builder.untag(ref).catch((err: unknown) => logger.warn({ err, build: build.id }, "could not remove the build's own tag"));
    };
    let hooks: HookSession | undefined;
    try {
      const paths = await resolveBuildPaths(checkout.dir, build.context, build.dockerfile, checkout.commit);
      const env = dockerHubBuildEnv({
        sourceType: build.sourceType,
        sourceName: build.sourceName,
        commit: checkout.commit,
        commitMessage: checkout.commitMessage,
        image: build.image,
        dockerfile: paths.dockerfilePath,
        tag: build.tags[0] ?? "latest",
      });
      const credentials = registryCredentials(repo, build);
      const found = await findHooks(checkout.dir, join(paths.contextDir, paths.dockerfilePath));
      if (found.size > 0 && deps.hooks === undefined) throw new SlipwayError("hook_failed", "this repository has build hooks, and this worker runs none");
      const cloneDir = await realpath(checkout.dir);
      if (found.size > 0) log.line(`Build hooks: ${[...found.keys()].map((name) => `hooks/${name}`).join(", ")}`);
      hooks = deps.hooks?.open({
        buildId: build.id,
        cloneDir,
        contextDir: relative(cloneDir, paths.contextDir),
        hooks: found,
        repository: build.image,
        ...(credentials ? { auth: credentials } : {}),
        env: { ...env, ...variables.values },
        log: log.write,
      });
      const prepared: Prepared = { cloneDir, paths, env, variables, credentials, hooks: hooks ?? NO_HOOKS, log, signal };

      await hook(prepared, "post_checkout");
      let current = await move(build, ["cloning"], "building", { commit: checkout.commit, commitMessage: checkout.commitMessage });
      await hook(prepared, "pre_build");
      const built = await buildImage(current, prepared);
      builtRef = built.ref;
      await noteImage(build, built.imageId);
      await hook(prepared, "post_build");
      current = await move(current, ["building"], "pushing");
      await hook(prepared, "pre_push");
      // Commits are ordered by committer date, then by build: the rank of this build's claim.
      const rank = `${checkout.committedAt}|${current.id}`;
      const { pushed, digest } = prepared.hooks.has("push") ? await pushByHook(current, rank, prepared) : await pushTags(current, rank, built.imageId, credentials, log, signal);
      if (pushed.length === 0) {
        await removeBuiltRef();
        await end(current, log, "superseded", null);
        return;
      }
      log.line(`Pushed ${pushed.map((t) => `${current.image}:${t}`).join(", ")}${digest === null ? "" : ` (${digest})`}`);
      await hook(prepared, "post_push");
      await removeBuiltRef();
      await end(current, log, "success", null, { digest, tags: pushed });
    } finally {
      await hooks?.close().catch((err: unknown) => logger.warn({ err, build: build.id }, "could not clean up after the build's hooks"));
      await checkout.cleanup();
      await removeBuiltRef();
    }
  }

  return async (job, _token, jobSignal) => {
    // Taking the build is the first thing done: a build that ended (canceled) or was deleted
    // while it waited is not taken, and nothing is read before the pickup is on record.
    const build = await store.transitionBuild(job.data.buildId, ["queued", ...RUNNING], "cloning", {
      startedAt: new Date().toISOString(),
    });
    if (!build) return;
    await announce(build.id, "cloning");
    const child = logger.child({ build: build.id, repository: build.repository });
    const log = createBuildLog({
      buildId: build.id,
      store,
      bus,
      onError: (err) => child.error({ err }, "could not store a log chunk"),
    });
    if (job.stalledCounter > 0) log.line("Picked up again: the worker that had this build stopped");

    const timeout = AbortSignal.timeout(deps.buildTimeoutMs);
    // The cancel event may be lost (Redis reconnecting): the record has the last word.
    const ended = new AbortController();
    const watch = setInterval(() => {
      store
        .getBuild(build.id)
        .then((now) => {
          if (!now || isTerminal(now.status)) ended.abort(new BuildEnded("the build ended elsewhere"));
        })
        .catch((err: unknown) => child.warn({ err }, "could not re-read the build"));
    }, deps.watchMs ?? 5_000);
    const signal = AbortSignal.any([jobSignal, timeout, ended.signal]);
    try {
      await run(build, log, signal);
    } catch (err) {
      if (err instanceof BuildEnded || ended.signal.aborted) {
        child.info("build ended elsewhere (canceled)");
      } else if (timeout.aborted) {
        log.line(`Timed out after ${Math.round(deps.buildTimeoutMs / 1000)} s`);
        await end(build, log, "timed_out", { code: "timed_out", message: `the build ran longer than ${Math.round(deps.buildTimeoutMs / 60_000)} minutes` });
      } else if (jobSignal.aborted) {
        log.line("Canceled");
        await end(build, log, "canceled", { code: "canceled", message: "canceled by a user" });
      } else if (isSlipwayError(err)) {
        log.line(`Failed: ${err.message}`);
        await end(build, log, "failed", { code: err.code, message: err.message });
      } else {
        child.error({ err }, "build failed unexpectedly");
        log.line("Failed: an internal error (see Slipway's worker log)");
        await end(build, log, "failed", { code: "internal_error", message: "the build failed on an internal error; the worker's log has the details" });
      }
    } finally {
      clearInterval(watch);
      await log.flush();
    }
    child.info("build done");
  };
}
