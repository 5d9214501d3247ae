import {
  imageName,
  isTerminal,
  planBuilds,
  SlipwayError,
  type BuildCause,
  type BuildPlan,
  type SourceType,
} from "@slipway/core";
import type { BuildEventBus, BuildQueue } from "@slipway/queue";
import type { BuildRecord, NewBuild, RepositoryRecord, RuleRecord, Store } from "@slipway/store";
import type { Logger } from "pino";

export interface BuildServiceDeps {
  store: Store;
  queue: BuildQueue;
  bus: BuildEventBus;
  /** The registry images go to unless a repository names another. */
  registry: string;
  logger: Logger;
  /** Told of every build the API ends (a cancel): outgoing webhooks. Best-effort, like the live events. */
  onEnded?: (build: BuildRecord) => Promise<void>;
}

export interface Revision {
  /** 40 hex, or "" to build the branch or tag's head as the worker finds it. */
  commit: string;
  commitMessage: string;
}

export interface PlannedBuilds {
  /** Builds to record; a rule whose tags break Docker's grammar gives one that is recorded failed. */
  builds: NewBuild[];
  /** Rules that match this branch or tag, autobuild on or off (to say why nothing built). */
  matchedRules: number;
}

function invalidTagError(tag: string, sourceType: SourceType, sourceName: string) {
  return {
    code: "invalid_tag" as const,
    message: `the rule's tag template gives "${tag}" for ${sourceType} "${sourceName}", which is not a valid Docker tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
  };
}

/**
 * Everything that turns "build this" into queued builds, shared by webhooks, trigger URLs,
 * manual builds and retries: planning against the rules, the records, the queue.
 */
export function createBuildService(deps: BuildServiceDeps) {
  const { store, queue, bus, logger } = deps;

  function imageOf(repo: RepositoryRecord): string {
    return imageName(repo.registryUrl ?? deps.registry, repo.namespace, repo.name);
  }

  function toNewBuild(repo: RepositoryRecord, plan: BuildPlan, revision: Revision, cause: BuildCause): NewBuild {
    return {
      repositoryId: repo.id,
      repository: `${repo.namespace}/${repo.name}`,
      ruleId: plan.ruleId,
      cause,
      sourceType: plan.sourceType,
      sourceName: plan.sourceName,
      commit: revision.commit,
      commitMessage: revision.commitMessage,
      tags: plan.tags,
      dockerfile: plan.dockerfile,
      context: plan.context,
      cache: plan.cache,
      buildArgs: plan.buildArgs,
      image: imageOf(repo),
    };
  }

  /** The builds a branch or tag gets through the repository's rules. */
  async function plan(
    repo: RepositoryRecord,
    ref: { sourceType: SourceType; sourceName: string },
    revision: Revision,
    cause: BuildCause,
    options: { autobuildOnly: boolean; ruleIds?: ReadonlySet<string>; rules?: RuleRecord[] },
  ): Promise<PlannedBuilds> {
    // The webhook path has the rules already (kept in memory, see hooks/hook-config-cache.ts).
    let rules = options.rules ?? (await store.listRules(repo.id));
    if (options.ruleIds) rules = rules.filter((rule) => options.ruleIds!.has(rule.id));
    const all = planBuilds(rules, ref.sourceType, ref.sourceName, { autobuildOnly: false });
    const result = options.autobuildOnly ? planBuilds(rules, ref.sourceType, ref.sourceName, { autobuildOnly: true }) : all;
    const builds = result.plans.map((p) => toNewBuild(repo, p, revision, cause));
    for (const { ruleId, tag } of result.invalid) {
      const rule = rules.find((r) => r.id === ruleId);
      if (!rule) continue;
      const failed = toNewBuild(repo, { ...rule, ruleId, ruleIds: [ruleId], ...ref, tags: [] }, revision, cause);
      builds.push({ ...failed, error: invalidTagError(tag, ref.sourceType, ref.sourceName) });
    }
    return { builds, matchedRules: all.plans.length + all.invalid.length };
  }

  /**
   * Hands recorded builds to the queue. Throws service_unavailable when Redis does not take
   * them: they stay `queued` and the worker's sweep queues them once Redis is back.
   */
  async function dispatch(recorded: BuildRecord[]): Promise<void> {
    try {
      // Together: enqueues of one turn go to Redis as one batch.
      await Promise.all(recorded.filter((build) => build.status === "queued").map((build) => queue.enqueue(build.id)));
    } catch (err) {
      logger.error({ err }, "could not queue builds; they stay queued until Redis is back");
      throw new SlipwayError("service_unavailable", "the build queue is unavailable; the builds are recorded and will start once it is back", {
        cause: err,
      });
    }
  }

  /** Records and queues builds started without a delivery (manual, trigger, retry). */
  async function start(builds: NewBuild[]): Promise<BuildRecord[]> {
    const recorded = await store.createBuilds(builds);
    await dispatch(recorded);
    return recorded;
  }

  /** Live events are a courtesy: the store is the record, so a Redis hiccup never fails the call. */
  async function announce(what: string, send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      logger.warn({ err }, `could not announce ${what}`);
    }
  }

  async function cancel(build: BuildRecord): Promise<BuildRecord> {
    // The record moves first, so a build is canceled even when no worker holds it any more
    // and when Redis is down; the worker holding it hears of it, or sees it on its next check.
    const canceled = await store.transitionBuild(
      build.id,
      ["queued", "cloning", "building", "pushing"],
      "canceled",
      { finishedAt: new Date().toISOString(), error: { code: "canceled", message: "canceled by a user" } },
    );
    if (!canceled) {
      const now = await store.getBuild(build.id);
      throw new SlipwayError("conflict", `build ${build.id} has already ended (${now?.status ?? "deleted"})`);
    }
    await announce("a cancel", async () => {
      if (build.status === "queued") await queue.remove(build.id);
      await bus.requestCancel(build.id);
      await bus.publish({ type: "status", buildId: build.id, status: "canceled" });
    });
    // The worker holding the build (if any) finds it ended and announces nothing: the end is told here.
    const { onEnded } = deps;
    if (onEnded) await announce("the build's end", () => onEnded(canceled));
    return canceled;
  }

  async function retry(build: BuildRecord): Promise<BuildRecord> {
    if (!isTerminal(build.status)) {
      throw new SlipwayError("conflict", `build ${build.id} is still ${build.status}; cancel it first or wait for it to end`);
    }
    const { id: _id, status: _s, digest: _d, error: _e, queuedAt: _q, startedAt: _st, finishedAt: _f, ...rest } = build;
    const [retried] = await start([{ ...rest, cause: { type: "retry", retryOf: build.id } }]);
    if (!retried) throw new SlipwayError("internal_error", "the retry was not recorded");
    return retried;
  }

  return { imageOf, plan, dispatch, start, cancel, retry };
}

export type BuildService = ReturnType<typeof createBuildService>;
