import type { BuildEventBus, BuildQueue } from "@slipway/queue";
import type { BuildRecord, Store } from "@slipway/store";
import type { Logger } from "pino";
import { runPeriodically, type Periodic } from "./periodic.js";

/**
 * Keeps the records and the queue in step after crashes and outages:
 * - a build recorded `queued` that the queue does not hold (Redis was down when it was
 *   recorded) is queued again;
 * - a build recorded as running that no worker holds any more (its worker died and the job
 *   was not picked up again) ends `failed` with `worker_lost`, never left `building`.
 * Every operation is idempotent, so several workers may sweep at once.
 */
export interface BuildSweeperDeps {
  store: Store;
  queue: BuildQueue;
  bus: BuildEventBus;
  logger: Logger;
  graceMs: number;
  /** Told of each build the sweep ends (outgoing webhooks), as the processor tells of its own. */
  onEnded?: (build: BuildRecord) => Promise<void>;
}

export function createBuildSweeper(deps: BuildSweeperDeps) {
  const { store, queue, bus, logger } = deps;

  async function sweep(now = Date.now()): Promise<void> {
    const old = (iso: string | null) => iso !== null && now - Date.parse(iso) > deps.graceMs;
    for (const build of await store.listBuildsByStatus(["queued"], 500)) {
      if (old(build.queuedAt) && !(await queue.holds(build.id))) {
        logger.warn({ build: build.id }, "queueing a recorded build the queue did not hold");
        await queue.enqueue(build.id, { replaceEnded: true });
      }
    }
    for (const build of await store.listBuildsByStatus(["cloning", "building", "pushing"], 500)) {
      if (old(build.startedAt ?? build.queuedAt) && !(await queue.holds(build.id))) {
        logger.warn({ build: build.id }, "failing a build whose worker was lost");
        const failed = await store.transitionBuild(build.id, [build.status], "failed", {
          finishedAt: new Date(now).toISOString(),
          error: {
            code: "worker_lost",
            message: "the worker running this build stopped twice and the build could not be finished; retry it",
          },
        });
        if (failed) {
          await bus.publish({ type: "status", buildId: build.id, status: "failed" });
          await deps.onEnded?.(failed);
        }
      }
    }
  }

  let periodic: Periodic | undefined;
  return {
    sweep,
    start(intervalMs: number) {
      periodic = runPeriodically(() => sweep(), intervalMs, (err) => logger.error({ err }, "build sweep failed"));
    },
    stop() {
      periodic?.stop();
    },
  };
}
