import type {
  BuildCause,
  BuildStatus,
  ErrorBody,
  Provider,
  RuleInput,
  BuildRule,
  SourceType,
} from "@slipway/core";
import type { AccountStore } from "./accounts-store.js";
import type { TriggerStore } from "./triggers-store.js";
import type { VariableStore } from "./variables-store.js";
import type { WebhookStore } from "./webhooks-store.js";

export type { AccountStore, TriggerStore, VariableStore, WebhookStore };

/**
 * Records as the store keeps them. Times are ISO-8601 UTC strings with milliseconds
 * ("2026-11-23T01:50:30.417Z"), so they sort as text on both databases.
 * Ids are UUIDv7 (time-ordered): ordering by id is ordering by creation.
 * Columns ending in `Enc` hold ciphertext sealed by the caller (core's secret box);
 * the store never sees a secret in clear.
 */
export interface RepositoryRecord {
  id: string;
  namespace: string;
  name: string;
  private: boolean;
  description: string;
  /** `docker push` by hand is allowed although the repository builds automatically (Docker Hub refuses it by default). */
  manualPush: boolean;
  /** Registry host (and optional path prefix) images are pushed to; null = the default registry. */
  registryUrl: string | null;
  registryUsername: string | null;
  registryPasswordEnc: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewRepository = Pick<RepositoryRecord, "namespace" | "name" | "private" | "description"> &
  Partial<Pick<RepositoryRecord, "manualPush" | "registryUrl" | "registryUsername" | "registryPasswordEnc">>;

export type RepositoryPatch = Partial<
  Pick<RepositoryRecord, "private" | "description" | "manualPush" | "registryUrl" | "registryUsername" | "registryPasswordEnc">
>;

export interface SourceRecord {
  id: string;
  repositoryId: string;
  provider: Provider;
  /** The forge's full repository name, as its payloads spell it ("acme/hello"). */
  repository: string;
  cloneUrl: string;
  secretEnc: string | null;
  /** Sealed JSON `{"username"?, "password"}` for cloning private repositories. */
  credentialsEnc: string | null;
  createdAt: string;
}

export type NewSource = Pick<SourceRecord, "provider" | "repository" | "cloneUrl" | "secretEnc" | "credentialsEnc">;

export interface RuleRecord extends BuildRule {
  repositoryId: string;
  createdAt: string;
}

export interface BuildRecord {
  id: string;
  repositoryId: string;
  /** "namespace/name", denormalised so a build reads without a join. */
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
  cache: boolean;
  buildArgs: Record<string, string>;
  /** The image name without tag ("127.0.0.1:5000/acme/hello"). */
  image: string;
  digest: string | null;
  error: ErrorBody | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type NewBuild = Pick<
  BuildRecord,
  | "repositoryId"
  | "repository"
  | "ruleId"
  | "cause"
  | "sourceType"
  | "sourceName"
  | "commit"
  | "commitMessage"
  | "tags"
  | "dockerfile"
  | "context"
  | "cache"
  | "buildArgs"
  | "image"
> & {
  /** A build that fails as it is recorded (its rule renders an invalid tag): stored `failed`. */
  error?: ErrorBody;
};

/** One status change of a build, with its time (the dashboard's timeline). */
export interface BuildEventRecord {
  buildId: string;
  status: BuildStatus;
  at: string;
}

export type DeliveryOutcome = "queued" | "ignored" | "duplicate" | "rejected";

export interface DeliveryRecord {
  id: string;
  /** Null when the delivery named no known source. */
  sourceId: string | null;
  provider: Provider | null;
  event: string | null;
  /** The forge's own delivery identity (see Forge.deliveryKey); null when it sent none. */
  deliveryKey: string | null;
  receivedAt: string;
  /** The HTTP status Slipway answered. */
  status: number;
  outcome: DeliveryOutcome;
  reason: string | null;
  buildIds: string[];
}

export type NewDelivery = Omit<DeliveryRecord, "id" | "receivedAt" | "buildIds">;

/** A delivery to record with the builds it queues (see Store.recordDelivery). */
export interface DeliveryToRecord {
  delivery: NewDelivery;
  builds: NewBuild[];
}

/** What recording a delivery gave: it and its builds, or the first delivery with its key and that one's builds. */
export interface RecordedDelivery {
  delivery: DeliveryRecord;
  builds: BuildRecord[];
  duplicate: boolean;
}

export interface LogChunk {
  seq: number;
  data: string;
  at: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

export interface RepositoryListQuery extends PageQuery {
  visibleTo?: { id: string; username: string } | null;
  search?: string | undefined;
}

/** A repository's builds, optionally only those of one status and of one branch or tag. */
export interface BuildListQuery extends PageQuery {
  status?: BuildStatus | undefined;
  sourceType?: SourceType | undefined;
  sourceName?: string | undefined;
}

/** Fields a status change may set alongside the status. */
export interface BuildUpdate {
  digest?: string | null;
  error?: ErrorBody | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  /** Tags actually pushed, when they differ from those planned. */
  tags?: string[];
  /** The commit as checked out (a build queued without one learns it when cloning). */
  commit?: string;
  commitMessage?: string;
}

export interface Store {
  /** Users, organisations, teams, access tokens and stars (CONTRACT §8). */
  readonly accounts: AccountStore;
  /** Trigger URLs (CONTRACT §4). */
  readonly triggers: TriggerStore;
  /** Build variables, secret ones sealed (CONTRACT §5). */
  readonly variables: VariableStore;
  /** Outgoing webhooks and their delivery attempts (CONTRACT §7). */
  readonly webhooks: WebhookStore;

  /** Brings the schema up to date (idempotent; safe to run from several processes). */
  migrate(): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;

  createRepository(input: NewRepository): Promise<RepositoryRecord>; // SlipwayError("conflict") when taken
  getRepository(id: string): Promise<RepositoryRecord | undefined>;
  findRepository(namespace: string, name: string): Promise<RepositoryRecord | undefined>;
  /** By full name. `visibleTo`: only what that user (null: anyone, signed in or not) may see; left out, every repository. `search`: names or descriptions containing it. */
  listRepositories(query: RepositoryListQuery): Promise<Page<RepositoryRecord>>;
  updateRepository(id: string, patch: RepositoryPatch): Promise<RepositoryRecord | undefined>;
  /** Deletes the repository with its source, rules, builds, logs and events. */
  deleteRepository(id: string): Promise<boolean>;

  /** Links (or re-links) the repository's single source; keeps the source id when re-linking. */
  setSource(repositoryId: string, input: NewSource): Promise<SourceRecord>;
  getSource(id: string): Promise<SourceRecord | undefined>;
  getSourceOfRepository(repositoryId: string): Promise<SourceRecord | undefined>;
  /** Sources linked to this forge repository (case-insensitive on the name). */
  findSources(provider: Provider, forgeRepository: string): Promise<SourceRecord[]>;

  /**
   * A number that moves whenever repositories, sources or rules change, by any process: what
   * a webhook delivery reads (getSource, findSources, getRepository, listRules) may be kept in
   * memory as long as this has not moved since it was read.
   */
  configVersion(): Promise<number>;

  listRules(repositoryId: string): Promise<RuleRecord[]>; // creation order
  getRule(id: string): Promise<RuleRecord | undefined>;
  createRule(repositoryId: string, input: RuleInput): Promise<RuleRecord>;
  updateRule(id: string, patch: Partial<RuleInput>): Promise<RuleRecord | undefined>;
  deleteRule(id: string): Promise<boolean>;

  /**
   * Records a delivery and the builds it queues in one transaction (builds start `queued`,
   * each with a first build event). When (provider, deliveryKey) was recorded before, nothing
   * is written and the first delivery is returned with `duplicate: true`.
   * Only `queued` and `ignored` deliveries claim their key: a `rejected` one (bad signature,
   * unknown source) never blocks the genuine delivery, and a `duplicate` one (the caller
   * recording the redelivery itself) is simply inserted. The builds' `cause.delivery` is set.
   */
  recordDelivery(delivery: NewDelivery, builds: NewBuild[]): Promise<RecordedDelivery>;
  /**
   * Records several deliveries in one transaction, each exactly as recordDelivery would in
   * their order (a later one with the key of an earlier one is its duplicate): a group commit,
   * so a burst of deliveries pays for one commit. All or none: when it throws, none is recorded.
   */
  recordDeliveries(items: DeliveryToRecord[]): Promise<RecordedDelivery[]>;
  getDelivery(id: string): Promise<DeliveryRecord | undefined>;
  /** Corrects what a recorded delivery was answered (its builds were recorded, then queueing failed). */
  setDeliveryAnswer(id: string, status: number, reason: string | null): Promise<void>;
  listDeliveries(query: PageQuery & { sourceId?: string | undefined }): Promise<Page<DeliveryRecord>>; // newest first
  /** Records builds started without a delivery (manual, trigger, retry), in one transaction. */
  createBuilds(builds: NewBuild[]): Promise<BuildRecord[]>;

  getBuild(id: string): Promise<BuildRecord | undefined>;
  getBuilds(ids: string[]): Promise<BuildRecord[]>;
  /** Newest first, keyset-paginated on id. */
  listBuilds(repositoryId: string, query: BuildListQuery): Promise<Page<BuildRecord>>;
  /** How many builds are in each status (metrics). */
  countBuildsByStatus(): Promise<Partial<Record<BuildStatus, number>>>;
  /** Builds in any of these statuses, oldest first (recovery after a crash). */
  listBuildsByStatus(statuses: BuildStatus[], limit: number): Promise<BuildRecord[]>;
  /**
   * Moves a build to `to` only if its status is one of `from` (compare-and-set), records a
   * build event, and returns the updated build; undefined when the build is not in `from`.
   */
  transitionBuild(id: string, from: BuildStatus[], to: BuildStatus, update?: BuildUpdate): Promise<BuildRecord | undefined>;
  listBuildEvents(buildId: string): Promise<BuildEventRecord[]>;

  /** Appends to the build's log; returns the chunk's sequence number (1, 2, …). */
  appendBuildLog(buildId: string, data: string): Promise<number>;
  /** The log's chunks after `afterSeq` (0 = from the start), in order. */
  readBuildLog(buildId: string, afterSeq?: number): Promise<LogChunk[]>;
  /**
   * Empties the log (a build picked up again after a worker died starts its log anew).
   * Sequence numbers go on from where they were, so a follower reading after n misses nothing.
   */
  clearBuildLog(buildId: string): Promise<void>;

  /**
   * For each tag, makes this build its owner unless a build of higher `rank` already owns it,
   * and returns the tags this build may push. Atomic. The rank orders commits, newest highest:
   * `"<commit time ISO>|<build id>"`, so an older commit never moves a tag a newer one pushed,
   * however its delivery or retry was ordered.
   */
  claimTags(repositoryId: string, buildId: string, tags: string[], rank: string): Promise<string[]>;
}
