import {
  declaredBuildArgs,
  dockerHubBuildEnv,
  isRetryable,
  isSlipwayError,
  isTerminal,
  SlipwayError,
  type BuildStatus,
  type ErrorBody,
  type SecretBox,
} from "@slipway/core";
import type { BuildEventBus, BuildProcessor, Locks } from "@slipway/queue";
import type { BuildRecord, BuildUpdate, RepositoryRecord, Store } from "@slipway/store";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { createBuildLog, type BuildLog } from "./build-log.js";
import { loadBuildVariables, secretForms, withoutSecrets, type BuildVariables } from "./build-variables.js";
import type { ImageBuilder, RegistryAuth } from "./image-builder.js";
import { resolveBuildPaths, type CheckoutResult, type SourceCheckout } from "./source-checkout.js";

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
}

const RUNNING: BuildStatus[] = ["cloning", "building", "pushing"];

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

  function registryAuth(repo: RepositoryRecord): RegistryAuth | undefined {
    if (!repo.registryUsername || !repo.registryPasswordEnc || !repo.registryUrl) return undefined;
    return {
      username: repo.registryUsername,
      password: deps.secrets.open(repo.registryPasswordEnc),
      serveraddress: repo.registryUrl.split("/")[0]!,
    };
  }

  async function buildImage(
    build: BuildRecord,
    checkout: CheckoutResult,
    variables: BuildVariables,
    auth: RegistryAuth | undefined,
    log: BuildLog,
    signal: AbortSignal,
  ): Promise<{ build: BuildRecord; imageId: string; ref: string }> {
    const paths = await resolveBuildPaths(checkout.dir, build.context, build.dockerfile, checkout.commit);
    const current = await move(build, ["cloning"], "building", { commit: checkout.commit, commitMessage: checkout.commitMessage });
    const dockerfileText = await readFile(join(paths.contextDir, paths.dockerfilePath), "utf8");
    const env = dockerHubBuildEnv({
      sourceType: current.sourceType,
      sourceName: current.sourceName,
      commit: current.commit,
      commitMessage: current.commitMessage,
      image: current.image,
      dockerfile: paths.dockerfilePath,
      tag: current.tags[0] ?? "latest",
    });
    const declared = declaredBuildArgs(dockerfileText);
    const declaredOnly = (vars: Record<string, string>) => Object.fromEntries(Object.entries(vars).filter(([name]) => declared.has(name)));
    // Later wins: Docker Hub's variables, then the repository's variables, then the rule's build args.
    const buildArgs = { ...declaredOnly(env), ...declaredOnly(variables.values), ...current.buildArgs };
    // Built under a tag of its own: a concurrent build of the same image must not move it
    // before this one is pushed. The pushed tags are set at push time, under a lock.
    const ref = `${current.image}:slipway-build-${current.id}`;
    log.line(`Building ${paths.dockerfilePath} (context ${current.context || "/"}) for ${current.tags.join(", ")}`);
    try {
      const { imageId } = await deps.builder.build(
        {
          contextDir: paths.contextDir,
          dockerfile: paths.dockerfilePath,
          tags: [ref],
          buildArgs,
          cache: current.cache,
          // Docker Hub's build cache: the last image of each tag, pulled if this engine lacks it.
          cacheFrom: { refs: current.tags.map((tag) => `${current.image}:${tag}`), ...(auth ? { auth } : {}) },
          log: log.write,
        },
        signal,
      );
      return { build: current, imageId, ref };
    } catch (err) {
      // The engine's message may quote an expanded arg (`FROM $SECRET`): it becomes the build's
      // error (an API answer) and may reach the worker's own log, which the build log's masking does not cover.
      throw withoutSecrets(err, variables.secrets);
    }
  }

  /**
   * Pushes each tag while holding its lock, claiming it first: an older commit's build
   * that waited for the lock then finds the tag taken and leaves it alone.
   */
  async function pushTags(build: BuildRecord, rank: string, imageId: string, auth: RegistryAuth | undefined, log: BuildLog, signal: AbortSignal) {
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
        const result = await pRetry(() => deps.builder.push({ tag: ref, imageId, ...(auth ? { auth } : {}), log: log.write }, signal), {
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

  async function run(build: BuildRecord, log: BuildLog, signal: AbortSignal): Promise<void> {
    // Read before anything the build prints reaches its log, so that every line is masked.
    // Hooks, once they exist, get the same values as environment.
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
    try {
      const auth = registryAuth(repo);
      const built = await buildImage(build, checkout, variables, auth, log, signal);
      builtRef = built.ref;
      const current = await move(built.build, ["building"], "pushing");
      // Commits are ordered by committer date, then by build: the rank of this build's claim.
      const rank = `${checkout.committedAt}|${current.id}`;
      const { pushed, digest } = await pushTags(current, rank, built.imageId, auth, log, signal);
      if (pushed.length === 0) {
        await end(current, log, "superseded", null);
        return;
      }
      log.line(`Pushed ${pushed.map((t) => `${current.image}:${t}`).join(", ")} (${digest})`);
      await end(current, log, "success", null, { digest, tags: pushed });
    } finally {
      await checkout.cleanup();
      if (builtRef) await deps.builder.untag(builtRef).catch((err: unknown) => logger.warn({ err, build: build.id }, "could not remove the build's own tag"));
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
