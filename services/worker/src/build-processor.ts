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
import type { BuildEventBus, BuildProcessor } from "@slipway/queue";
import type { BuildRecord, BuildUpdate, Store } from "@slipway/store";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { createBuildLog, type BuildLog } from "./build-log.js";
import type { ImageBuilder } from "./image-builder.js";
import { resolveBuildPaths, type SourceCheckout } from "./source-checkout.js";

export interface ProcessorDeps {
  store: Store;
  bus: BuildEventBus;
  builder: ImageBuilder;
  /** A checkout for one build, writing its progress to that build's log. */
  createCheckout: (log: (line: string) => void) => SourceCheckout;
  secrets: SecretBox;
  logger: Logger;
  pushAttempts: number;
  /** First wait between push attempts; doubles each time. */
  pushRetryMs?: number;
  buildTimeoutMs: number;
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

  async function move(build: BuildRecord, from: BuildStatus[], to: BuildStatus, update: BuildUpdate = {}): Promise<BuildRecord> {
    const moved = await store.transitionBuild(build.id, from, to, update);
    if (!moved) throw new BuildEnded(`build ${build.id} is no longer ${from.join("/")}`);
    await bus.publish({ type: "status", buildId: build.id, status: to });
    return moved;
  }

  async function end(build: BuildRecord, status: BuildStatus, error: ErrorBody | null, update: BuildUpdate = {}): Promise<void> {
    const moved = await store.transitionBuild(build.id, ["queued", ...RUNNING], status, {
      ...update,
      error,
      finishedAt: new Date().toISOString(),
    });
    if (moved) await bus.publish({ type: "status", buildId: build.id, status });
  }

  async function run(build: BuildRecord, log: BuildLog, signal: AbortSignal): Promise<void> {
    const started = await move(build, ["queued", ...RUNNING], "cloning", { startedAt: new Date().toISOString() });
    const source = await store.getSourceOfRepository(build.repositoryId);
    if (!source) throw new SlipwayError("clone_failed", "the repository has no linked source any more");
    const repo = await store.getRepository(build.repositoryId);
    if (!repo) throw new SlipwayError("clone_failed", "the repository was deleted");

    const credentials = source.credentialsEnc
      ? (JSON.parse(deps.secrets.open(source.credentialsEnc)) as { username?: string; password: string })
      : undefined;
    const ref = `refs/${build.sourceType === "branch" ? "heads" : "tags"}/${build.sourceName}`;
    const checkout = await deps
      .createCheckout((line) => log.write(`${line}\n`))
      .checkout({ cloneUrl: source.cloneUrl, commit: build.commit, ref, ...(credentials ? { credentials } : {}) }, signal);
    try {
      const paths = await resolveBuildPaths(checkout.dir, build.context, build.dockerfile, checkout.commit);
      let current = await move(started, ["cloning"], "building", {
        commit: checkout.commit,
        commitMessage: checkout.commitMessage,
      });

      const refs = current.tags.map((tag) => `${current.image}:${tag}`);
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
      const buildArgs = {
        ...Object.fromEntries(Object.entries(env).filter(([name]) => declared.has(name))),
        ...current.buildArgs,
      };
      log.line(`Building ${paths.dockerfilePath} (context ${current.context || "/"}) → ${refs.join(", ")}`);
      await deps.builder.build(
        { contextDir: paths.contextDir, dockerfile: paths.dockerfilePath, tags: refs, buildArgs, cache: current.cache, log: log.write },
        signal,
      );

      current = await move(current, ["building"], "pushing");
      const allowed = await store.claimTags(current.repositoryId, current.id, current.tags, `${checkout.committedAt}|${current.id}`);
      const skipped = current.tags.filter((tag) => !allowed.includes(tag));
      if (skipped.length > 0) log.line(`Not pushing ${skipped.join(", ")}: a build of a newer commit already pushed it`);
      if (allowed.length === 0) {
        await end(current, "superseded", null, { tags: [] });
        return;
      }
      const auth =
        repo.registryUsername && repo.registryPasswordEnc && repo.registryUrl
          ? {
              username: repo.registryUsername,
              password: deps.secrets.open(repo.registryPasswordEnc),
              serveraddress: repo.registryUrl.split("/")[0]!,
            }
          : undefined;
      let digest: string | null = null;
      for (const tag of allowed) {
        log.line(`Pushing ${current.image}:${tag}`);
        const pushed = await pRetry(
          () => deps.builder.push({ tag: `${current.image}:${tag}`, ...(auth ? { auth } : {}), log: log.write }, signal),
          {
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
          },
        );
        digest = pushed.digest;
      }
      log.line(`Pushed ${allowed.map((t) => `${current.image}:${t}`).join(", ")} (${digest})`);
      await end(current, "success", null, { digest, tags: allowed });
    } finally {
      await checkout.cleanup();
    }
  }

  return async (job, _token, jobSignal) => {
    const build = await store.getBuild(job.data.buildId);
    if (!build || isTerminal(build.status)) return;
    const child = logger.child({ build: build.id, repository: build.repository });
    const log = createBuildLog({
      buildId: build.id,
      store,
      bus,
      onError: (err) => child.error({ err }, "could not store a log chunk"),
    });
    if (build.status !== "queued") log.line("Picked up again: the worker that had this build stopped");

    const timeout = AbortSignal.timeout(deps.buildTimeoutMs);
    const signal = AbortSignal.any([jobSignal, timeout]);
    try {
      await run(build, log, signal);
    } catch (err) {
      await log.flush();
      if (err instanceof BuildEnded) {
        child.info("build ended elsewhere (canceled)");
      } else if (timeout.aborted) {
        log.line(`Timed out after ${Math.round(deps.buildTimeoutMs / 1000)} s`);
        await end(build, "timed_out", { code: "timed_out", message: `the build ran longer than ${Math.round(deps.buildTimeoutMs / 60_000)} minutes` });
      } else if (jobSignal.aborted) {
        log.line("Canceled");
        await end(build, "canceled", { code: "canceled", message: "canceled by a user" });
      } else if (isSlipwayError(err)) {
        log.line(`Failed: ${err.message}`);
        await end(build, "failed", { code: err.code, message: err.message });
      } else {
        child.error({ err }, "build failed unexpectedly");
        log.line("Failed: an internal error (see Slipway's worker log)");
        await end(build, "failed", { code: "internal_error", message: "the build failed on an internal error; the worker's log has the details" });
      }
    } finally {
      await log.flush();
    }
    child.info("build done");
  };
}
