/**
 * Table shapes as both databases hold them. Portable choices:
 * - ids are UUIDv7 text, times ISO-8601 text (both sort as text);
 * - booleans are integers 0/1 (SQLite has no boolean type);
 * - structured values (cause, tags, build args, error) are JSON text.
 */
import type { AccountTables } from "./schema-accounts.js";
import type { TriggerTables } from "./schema-triggers.js";
import type { VariableTables } from "./schema-variables.js";
import type { WebhookTables } from "./schema-webhooks.js";

export interface Database extends AccountTables, TriggerTables, VariableTables, WebhookTables {
  repositories: RepositoryTable;
  sources: SourceTable;
  rules: RuleTable;
  builds: BuildTable;
  build_events: BuildEventTable;
  build_logs: BuildLogTable;
  deliveries: DeliveryTable;
  tag_heads: TagHeadTable;
  config_version: ConfigVersionTable;
}

/** One row (id 1): its version moves with every change to repositories, sources and rules (migration 0007). */
export interface ConfigVersionTable {
  id: number;
  version: number;
}

export interface RepositoryTable {
  id: string;
  namespace: string;
  name: string;
  private: number;
  description: string;
  /** 1: `docker push` by hand is allowed although the repository builds automatically. */
  manual_push: number;
  registry_url: string | null;
  registry_username: string | null;
  registry_password_enc: string | null;
  created_at: string;
  updated_at: string;
}

export interface SourceTable {
  id: string;
  repository_id: string;
  provider: string;
  repository: string;
  clone_url: string;
  secret_enc: string | null;
  credentials_enc: string | null;
  created_at: string;
}

export interface RuleTable {
  id: string;
  repository_id: string;
  source_type: string;
  source_name: string;
  docker_tag: string;
  dockerfile: string;
  context: string;
  autobuild: number;
  cache: number;
  build_args: string;
  created_at: string;
}

export interface BuildTable {
  id: string;
  repository_id: string;
  repository: string;
  rule_id: string | null;
  delivery_id: string | null;
  status: string;
  cause: string;
  source_type: string;
  source_name: string;
  commit_sha: string;
  commit_message: string;
  tags: string;
  dockerfile: string;
  context: string;
  cache: number;
  build_args: string;
  image: string;
  digest: string | null;
  error: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Last log sequence number handed out; never goes back, so log followers never miss a chunk. */
  log_seq: number;
}

export interface BuildEventTable {
  build_id: string;
  seq: number;
  status: string;
  at: string;
}

export interface BuildLogTable {
  build_id: string;
  seq: number;
  data: string;
  at: string;
}

export interface DeliveryTable {
  id: string;
  source_id: string | null;
  provider: string | null;
  event: string | null;
  delivery_key: string | null;
  received_at: string;
  status: number;
  outcome: string;
  reason: string | null;
}

export interface TagHeadTable {
  repository_id: string;
  tag: string;
  build_id: string;
  /** Orders the builds that claim a tag: "<commit time>|<build id>". */
  rank: string;
}
