import type { BuildCause, BuildStatus, ErrorBody, Provider, RuleInput, SourceType } from "@slipway/core";
import type {
  BuildEventTable,
  BuildLogTable,
  BuildTable,
  DeliveryTable,
  RepositoryTable,
  RuleTable,
  SourceTable,
} from "./schema.js";
import type {
  BuildEventRecord,
  BuildRecord,
  BuildUpdate,
  DeliveryOutcome,
  DeliveryRecord,
  LogChunk,
  NewBuild,
  NewDelivery,
  NewRepository,
  RepositoryPatch,
  RepositoryRecord,
  RuleRecord,
  SourceRecord,
} from "./types.js";

/*
 * The one place rows become records and records become rows. Column values were written
 * by the functions below, so reading them back trusts their types (the casts).
 */

const toBool = (value: number): boolean => value !== 0;
const toInt = (value: boolean): number => (value ? 1 : 0);

export function toRepositoryRecord(row: RepositoryTable): RepositoryRecord {
  return {
    id: row.id,
    namespace: row.namespace,
    name: row.name,
    private: toBool(row.private),
    description: row.description,
    manualPush: toBool(row.manual_push),
    registryUrl: row.registry_url,
    registryUsername: row.registry_username,
    registryPasswordEnc: row.registry_password_enc,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toRepositoryRow(id: string, input: NewRepository, now: string): RepositoryTable {
  return {
    id,
    namespace: input.namespace,
    name: input.name,
    private: toInt(input.private),
    description: input.description,
    manual_push: toInt(input.manualPush ?? false),
    registry_url: input.registryUrl ?? null,
    registry_username: input.registryUsername ?? null,
    registry_password_enc: input.registryPasswordEnc ?? null,
    created_at: now,
    updated_at: now,
  };
}

export function toRepositoryChanges(patch: RepositoryPatch): Partial<RepositoryTable> {
  const changes: Partial<RepositoryTable> = {};
  if (patch.private !== undefined) changes.private = toInt(patch.private);
  if (patch.description !== undefined) changes.description = patch.description;
  if (patch.manualPush !== undefined) changes.manual_push = toInt(patch.manualPush);
  if (patch.registryUrl !== undefined) changes.registry_url = patch.registryUrl;
  if (patch.registryUsername !== undefined) changes.registry_username = patch.registryUsername;
  if (patch.registryPasswordEnc !== undefined) changes.registry_password_enc = patch.registryPasswordEnc;
  return changes;
}

export function toSourceRecord(row: SourceTable): SourceRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    provider: row.provider as Provider,
    repository: row.repository,
    cloneUrl: row.clone_url,
    secretEnc: row.secret_enc,
    credentialsEnc: row.credentials_enc,
    createdAt: row.created_at,
  };
}

export function toRuleRecord(row: RuleTable): RuleRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    sourceType: row.source_type as SourceType,
    sourceName: row.source_name,
    dockerTag: row.docker_tag,
    dockerfile: row.dockerfile,
    context: row.context,
    autobuild: toBool(row.autobuild),
    cache: toBool(row.cache),
    buildArgs: JSON.parse(row.build_args) as Record<string, string>,
    createdAt: row.created_at,
  };
}

export function toRuleRow(id: string, repositoryId: string, input: RuleInput, now: string): RuleTable {
  return {
    id,
    repository_id: repositoryId,
    source_type: input.sourceType,
    source_name: input.sourceName,
    docker_tag: input.dockerTag,
    dockerfile: input.dockerfile,
    context: input.context,
    autobuild: toInt(input.autobuild),
    cache: toInt(input.cache),
    build_args: JSON.stringify(input.buildArgs),
    created_at: now,
  };
}

export function toRuleChanges(patch: Partial<RuleInput>): Partial<RuleTable> {
  const changes: Partial<RuleTable> = {};
  if (patch.sourceType !== undefined) changes.source_type = patch.sourceType;
  if (patch.sourceName !== undefined) changes.source_name = patch.sourceName;
  if (patch.dockerTag !== undefined) changes.docker_tag = patch.dockerTag;
  if (patch.dockerfile !== undefined) changes.dockerfile = patch.dockerfile;
  if (patch.context !== undefined) changes.context = patch.context;
  if (patch.autobuild !== undefined) changes.autobuild = toInt(patch.autobuild);
  if (patch.cache !== undefined) changes.cache = toInt(patch.cache);
  if (patch.buildArgs !== undefined) changes.build_args = JSON.stringify(patch.buildArgs);
  return changes;
}

export function toBuildRecord(row: BuildTable): BuildRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    repository: row.repository,
    ruleId: row.rule_id,
    status: row.status as BuildStatus,
    cause: JSON.parse(row.cause) as BuildCause,
    sourceType: row.source_type as SourceType,
    sourceName: row.source_name,
    commit: row.commit_sha,
    commitMessage: row.commit_message,
    tags: JSON.parse(row.tags) as string[],
    dockerfile: row.dockerfile,
    context: row.context,
    cache: toBool(row.cache),
    buildArgs: JSON.parse(row.build_args) as Record<string, string>,
    image: row.image,
    digest: row.digest,
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorBody),
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** A new build's row: queued now, with nothing logged yet. */
export function toBuildRow(id: string, build: NewBuild, deliveryId: string | null, now: string): BuildTable {
  return {
    id,
    repository_id: build.repositoryId,
    repository: build.repository,
    rule_id: build.ruleId,
    delivery_id: deliveryId,
    status: build.error ? "failed" : "queued",
    cause: JSON.stringify(build.cause),
    source_type: build.sourceType,
    source_name: build.sourceName,
    commit_sha: build.commit,
    commit_message: build.commitMessage,
    tags: JSON.stringify(build.tags),
    dockerfile: build.dockerfile,
    context: build.context,
    cache: toInt(build.cache),
    build_args: JSON.stringify(build.buildArgs),
    image: build.image,
    digest: null,
    error: build.error ? JSON.stringify(build.error) : null,
    queued_at: now,
    started_at: null,
    finished_at: build.error ? now : null,
    log_seq: 0,
  };
}

export function toBuildChanges(status: BuildStatus, update: BuildUpdate): Partial<BuildTable> {
  const changes: Partial<BuildTable> = { status };
  if (update.digest !== undefined) changes.digest = update.digest;
  if (update.error !== undefined) changes.error = update.error === null ? null : JSON.stringify(update.error);
  if (update.startedAt !== undefined) changes.started_at = update.startedAt;
  if (update.finishedAt !== undefined) changes.finished_at = update.finishedAt;
  if (update.tags !== undefined) changes.tags = JSON.stringify(update.tags);
  if (update.commit !== undefined) changes.commit_sha = update.commit;
  if (update.commitMessage !== undefined) changes.commit_message = update.commitMessage;
  return changes;
}

export function toBuildEventRecord(row: BuildEventTable): BuildEventRecord {
  return { buildId: row.build_id, status: row.status as BuildStatus, at: row.at };
}

export function toLogChunk(row: Pick<BuildLogTable, "seq" | "data" | "at">): LogChunk {
  return { seq: row.seq, data: row.data, at: row.at };
}

export function toDeliveryRow(id: string, delivery: NewDelivery, receivedAt: string): DeliveryTable {
  return {
    id,
    source_id: delivery.sourceId,
    provider: delivery.provider,
    event: delivery.event,
    delivery_key: delivery.deliveryKey,
    received_at: receivedAt,
    status: delivery.status,
    outcome: delivery.outcome,
    reason: delivery.reason,
  };
}

export function toDeliveryRecord(row: DeliveryTable, buildIds: string[]): DeliveryRecord {
  return {
    id: row.id,
    sourceId: row.source_id,
    provider: row.provider as Provider | null,
    event: row.event,
    deliveryKey: row.delivery_key,
    receivedAt: row.received_at,
    status: row.status,
    outcome: row.outcome as DeliveryOutcome,
    reason: row.reason,
    buildIds,
  };
}
