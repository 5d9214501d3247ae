import type { ErrorBody } from "./errors.js";

export const BUILD_STATUSES = [
  "queued",
  "cloning",
  "building",
  "pushing",
  "success",
  "failed",
  "canceled",
  "timed_out",
  "superseded",
] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<BuildStatus> = new Set<BuildStatus>([
  "success",
  "failed",
  "canceled",
  "timed_out",
  "superseded",
]);

export function isBuildStatus(value: unknown): value is BuildStatus {
  return typeof value === "string" && (BUILD_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: BuildStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/**
 * Which status may follow which. A worker that picks a build up again after another
 * worker died restarts it from `cloning`, so running states may go back to `cloning`.
 */
const NEXT: Record<BuildStatus, readonly BuildStatus[]> = {
  queued: ["cloning", "canceled", "superseded", "failed"],
  cloning: ["cloning", "building", "failed", "canceled", "timed_out"],
  building: ["cloning", "pushing", "failed", "canceled", "timed_out"],
  pushing: ["cloning", "success", "superseded", "failed", "canceled", "timed_out"],
  success: [],
  failed: [],
  canceled: [],
  timed_out: [],
  superseded: [],
};

export function canTransition(from: BuildStatus, to: BuildStatus): boolean {
  return NEXT[from].includes(to);
}

export type SourceType = "branch" | "tag";

export type BuildCauseType = "push" | "trigger" | "manual" | "retry";

export interface BuildCause {
  type: BuildCauseType;
  /** The inbound delivery's id, for builds a webhook started. */
  delivery?: string;
  /** The trigger's id, for builds a trigger URL started. */
  trigger?: string;
  /** The build retried, for retries. */
  retryOf?: string;
}

/** A build as the API returns it (CONTRACT §5). */
export interface BuildView {
  id: string;
  repository: string;
  ruleId: string | null;
  status: BuildStatus;
  cause: BuildCause;
  sourceType: SourceType;
  sourceName: string;
  commit: string;
  commitMessage: string;
  tags: string[];
  dockerfile: string;
  context: string;
  image: string;
  digest: string | null;
  error: ErrorBody | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * A build as the API shows it, from anything that holds at least its fields: a stored build
 * carries more (build args among them), which never leaves through an answer or a payload.
 */
export function toBuildView(build: BuildView): BuildView {
  return {
    id: build.id,
    repository: build.repository,
    ruleId: build.ruleId,
    status: build.status,
    cause: build.cause,
    sourceType: build.sourceType,
    sourceName: build.sourceName,
    commit: build.commit,
    commitMessage: build.commitMessage,
    tags: build.tags,
    dockerfile: build.dockerfile,
    context: build.context,
    image: build.image,
    digest: build.digest,
    error: build.error,
    queuedAt: build.queuedAt,
    startedAt: build.startedAt,
    finishedAt: build.finishedAt,
  };
}
