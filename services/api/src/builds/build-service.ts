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
import type { BuildRecord, NewBuild, RepositoryRecord, Store } from "@slipway/store";
import type { Logger } from "pino";

export interface BuildServiceDeps {
  store: Store;
  queue: BuildQueue;
  bus: BuildEventBus;
  /** The registry images go to unless a repository names another. */
  registry: string;
  logger: Logger;
}

export interface Revision {
  /** 40 hex, or "" to build the branch or tag's head as the worker finds it. */
  commit: string;
  commitMessage: string;
}

export interface PlannedBuilds {
  builds: NewBuild[];
  /** Rules whose rendered tags break Docker's grammar: recorded as failed builds. */
  invalid: { build: NewBuild; tag: string }[];
}

/**
 * Everything that turns "build this" into queued builds, shared by webhooks, trigger URLs,
 * manual builds and retries: planning against the rules, the records, the queue.
 */
export function createBuildService(deps: BuildServiceDeps) {
  const { store, queue, bus } = deps;

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
    options: { autobuildOnly: boolean; ruleIds?: ReadonlySet<string> },
  ): Promise<PlannedBuilds & { matchedRules: number }> {
    let rules = await store.listRules(repo.id);
    if (options.ruleIds) rules = rules.filter((rule) => options.ruleIds!.has(rule.id));
    const result = planBuilds(rules, ref.sourceType, ref.sourceName, { autobuildOnly: options.autobuildOnly });
    const byId = new Map(rules.map((rule) => [rule.id, rule]));
    const invalid = result.invalid.flatMap(({ ruleId, tag }) => {
      const rule = byId.get(ruleId);
      if (!rule) return [];
      const invalidPlan: BuildPlan = {
        ruleId,
        ruleIds: [ruleId],
        sourceType: ref.sourceType,
        sourceName: ref.sourceName,
        dockerfile: rule.dockerfile,
        context: rule.context,
        cache: rule.cache,
        buildArgs: rule.buildArgs,
        tags: [],
      };
      return [{ build: toNewBuild(repo, invalidPlan, revision, cause), tag }];
    });
    const matchedRules = options.autobuildOnly
      ? planBuilds(rules, ref.sourceType, ref.sourceName, { autobuildOnly: false }).plans.length
      : result.plans.length;
    return { builds: result.plans.map((p) => toNewBuild(repo, p, revision, cause)), invalid, matchedRules };
  }

  /**
   * Fails the builds recorded for invalid tags, then hands the others to the queue.
   * Throws service_unavailable when Redis does not take them: the builds stay `queued`
   * and the worker's sweep queues them once Redis is back.
   */
  async function dispatch(recorded: BuildRecord[], invalidTags: Map<string, string>): Promise<BuildRecord[]> {
    const result: BuildRecord[] = [];
    for (const build of recorded) {
      const tag = invalidTags.get(build.id);
      if (tag === undefined) {
        result.push(build);
        continue;
      }
      const failed = await store.transitionBuild(build.id, ["queued"], "failed", {
        error: {
          code: "invalid_tag",
          message: `the rule's tag template gives "${tag}" for ${build.sourceType} "${build.sourceName}", which is not a valid Docker tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
        },
        finishedAt: new Date().toISOString(),
      });
      result.push(failed ?? build);
    }
    try {
      for (const build of result) {
        if (build.status === "queued") await queue.enqueue(build.id);
      }
    } catch (err) {
      deps.logger.error({ err }, "could not queue builds; they stay queued until Redis is back");
      throw new SlipwayError("service_unavailable", "the build queue is unavailable; the builds are recorded and will start once it is back", {
        cause: err,
      });
    }
    return result;
  }

  /** Records and queues builds started without a delivery (manual, trigger, retry). */
  async function start(planned: PlannedBuilds): Promise<BuildRecord[]> {
    const all = [...planned.builds, ...planned.invalid.map((i) => i.build)];
    const recorded = await store.createBuilds(all);
    const invalidTags = new Map<string, string>();
    planned.invalid.forEach((item, index) => {
      const build = recorded[planned.builds.length + index];
      if (build) invalidTags.set(build.id, item.tag);
    });
    return dispatch(recorded, invalidTags);
  }

  async function cancel(build: BuildRecord): Promise<BuildRecord> {
    if (isTerminal(build.status)) {
      throw new SlipwayError("conflict", `build ${build.id} has already ended (${build.status})`);
    }
    if (build.status === "queued") await queue.remove(build.id);
    // The record moves first, so a build is canceled even when no worker holds it any more;
    // the worker holding it sees the event (or its next status change fail) and stops.
    const canceled = await store.transitionBuild(
      build.id,
      ["queued", "cloning", "building", "pushing"],
      "canceled",
      { finishedAt: new Date().toISOString(), error: { code: "canceled", message: "canceled by a user" } },
    );
    await bus.publish({ type: "cancel", buildId: build.id });
    await bus.publish({ type: "status", buildId: build.id, status: "canceled" });
    if (!canceled) {
      const now = await store.getBuild(build.id);
      throw new SlipwayError("conflict", `build ${build.id} has already ended (${now?.status ?? "deleted"})`);
    }
    return canceled;
  }

  async function retry(build: BuildRecord): Promise<BuildRecord> {
    if (!isTerminal(build.status)) {
      throw new SlipwayError("conflict", `build ${build.id} is still ${build.status}; cancel it first or wait for it to end`);
    }
    const { id: _id, status: _s, digest: _d, error: _e, queuedAt: _q, startedAt: _st, finishedAt: _f, ...rest } = build;
    const [retried] = await start({ builds: [{ ...rest, cause: { type: "retry", retryOf: build.id } }], invalid: [] });
    if (!retried) throw new SlipwayError("internal_error", "the retry was not recorded");
    return retried;
  }

  return { imageOf, plan, dispatch, start, cancel, retry };
}

export type BuildService = ReturnType<typeof createBuildService>;
