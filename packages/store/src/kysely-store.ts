import { newId, SlipwayError, type BuildStatus, type Provider, type RuleInput } from "@slipway/core";
import { sql, type Kysely, type SqlBool } from "kysely";
import { CompiledQueries } from "./compiled-queries.js";
import { createMigrator } from "./migrations/index.js";
import { createTriggerStore, type TriggerStore } from "./triggers-store.js";
import { createVariableStore, type VariableStore } from "./variables-store.js";
import { createWebhookStore, type WebhookStore } from "./webhooks-store.js";
import { createAccountStore, visibleTo, type AccountStore } from "./accounts-store.js";
import {
  toBuildChanges,
  toBuildEventRecord,
  toBuildRecord,
  toBuildRow,
  toDeliveryRecord,
  toDeliveryRow,
  toLogChunk,
  toRepositoryChanges,
  toRepositoryRecord,
  toRepositoryRow,
  toRuleChanges,
  toRuleRecord,
  toRuleRow,
  toSourceRecord,
} from "./rows.js";
import type { Database, DeliveryTable, SourceTable } from "./schema.js";
import type {
  BuildEventRecord,
  BuildListQuery,
  BuildRecord,
  BuildUpdate,
  DeliveryRecord,
  DeliveryToRecord,
  LogChunk,
  NewBuild,
  NewDelivery,
  NewRepository,
  NewSource,
  Page,
  PageQuery,
  RecordedDelivery,
  RepositoryListQuery,
  RepositoryPatch,
  RepositoryRecord,
  RuleRecord,
  SourceRecord,
  Store,
} from "./types.js";

/**
 * Which deliveries claim their (provider, delivery_key): verbatim the predicate of the partial
 * unique index `deliveries_provider_delivery_key_key` (PostgreSQL matches ON CONFLICT targets
 * to partial indexes by their predicate).
 */
const CLAIMS_DELIVERY_KEY = sql<SqlBool>`delivery_key is not null and outcome in ('queued', 'ignored')`;

const now = (): string => new Date().toISOString();

/** The Store over Kysely; the same queries run on SQLite and PostgreSQL. */
export class KyselyStore implements Store {
  readonly #db: Kysely<Database>;
  /** The webhook path's queries, compiled once (getSource, getRepository, listRules, recordDeliveries). */
  readonly #compiled = new CompiledQueries();
  readonly triggers: TriggerStore;
  readonly variables: VariableStore;
  readonly webhooks: WebhookStore;
  readonly accounts: AccountStore;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.triggers = createTriggerStore(db);
    this.variables = createVariableStore(db);
    this.webhooks = createWebhookStore(db);
    this.accounts = createAccountStore(db);
  }

  async migrate(): Promise<void> {
    const { error } = await createMigrator(this.#db).migrateToLatest();
    if (error !== undefined) {
      throw error instanceof Error ? error : new Error("database migration failed", { cause: error });
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }

  // Repositories

  async createRepository(input: NewRepository): Promise<RepositoryRecord> {
    // ON CONFLICT DO NOTHING reports a taken name as "no row", the same on both databases.
    const row = await this.#db
      .insertInto("repositories")
      .values(toRepositoryRow(newId(), input, now()))
      .onConflict((oc) => oc.columns(["namespace", "name"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) {
      throw new SlipwayError("conflict", `repository ${input.namespace}/${input.name} already exists`);
    }
    return toRepositoryRecord(row);
  }

  async getRepository(id: string): Promise<RepositoryRecord | undefined> {
    const [row] = await this.#compiled.execute(this.#db, "getRepository", [id], () =>
      this.#db.selectFrom("repositories").selectAll().where("id", "=", id),
    );
    return row && toRepositoryRecord(row);
  }

  async findRepository(namespace: string, name: string): Promise<RepositoryRecord | undefined> {
    const row = await this.#db
      .selectFrom("repositories")
      .selectAll()
      .where("namespace", "=", namespace)
      .where("name", "=", name)
      .executeTakeFirst();
    return row && toRepositoryRecord(row);
  }

  async listRepositories(query: RepositoryListQuery): Promise<Page<RepositoryRecord>> {
    const limit = checkLimit(query.limit);
    let q = this.#db
      .selectFrom("repositories")
      .selectAll()
      .orderBy("namespace")
      .orderBy("name")
      .limit(limit + 1);
    const { visibleTo: viewer, search } = query;
    if (viewer !== undefined) q = q.where((eb) => visibleTo(eb, viewer));
    if (search !== undefined && search !== "") {
      // LIKE with the user's text as a literal: its own % and _ are escaped.
      const pattern = `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where((eb) =>
        eb.or([
          eb(sql<string>`lower(namespace || '/' || name)`, "like", sql<string>`${pattern} escape '\\'`),
          eb(sql<string>`lower(description)`, "like", sql<string>`${pattern} escape '\\'`),
        ]),
      );
    }
    if (query.cursor !== undefined) {
      const [namespace, name] = parseRepositoryCursor(query.cursor);
      q = q.where((eb) => eb(eb.refTuple("namespace", "name"), ">", eb.tuple(namespace, name)));
    }
    const rows = await q.execute();
    return toPage(rows.map(toRepositoryRecord), limit, toRepositoryCursor);
  }

  async updateRepository(id: string, patch: RepositoryPatch): Promise<RepositoryRecord | undefined> {
    const row = await this.#db
      .updateTable("repositories")
      .set({ ...toRepositoryChanges(patch), updated_at: now() })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row && toRepositoryRecord(row);
  }

  async deleteRepository(id: string): Promise<boolean> {
    // The foreign keys cascade to the source, rules, builds, their events and logs, and tag heads.
    const result = await this.#db.deleteFrom("repositories").where("id", "=", id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // Sources

  async setSource(repositoryId: string, input: NewSource): Promise<SourceRecord> {
    await this.#requireRepository(repositoryId);
    const changes = {
      provider: input.provider,
      repository: input.repository,
      clone_url: input.cloneUrl,
      secret_enc: input.secretEnc,
      credentials_enc: input.credentialsEnc,
    } satisfies Partial<SourceTable>;
    // Upsert on the repository: re-linking keeps the id, so webhook URLs already set up stay valid.
    const row = await this.#db
      .insertInto("sources")
      .values({ id: newId(), repository_id: repositoryId, ...changes, created_at: now() })
      .onConflict((oc) => oc.column("repository_id").doUpdateSet(changes))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSourceRecord(row);
  }

  async getSource(id: string): Promise<SourceRecord | undefined> {
    const [row] = await this.#compiled.execute(this.#db, "getSource", [id], () =>
      this.#db.selectFrom("sources").selectAll().where("id", "=", id),
    );
    return row && toSourceRecord(row);
  }

  async getSourceOfRepository(repositoryId: string): Promise<SourceRecord | undefined> {
    const row = await this.#db
      .selectFrom("sources")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .executeTakeFirst();
    return row && toSourceRecord(row);
  }

  async findSources(provider: Provider, forgeRepository: string): Promise<SourceRecord[]> {
    // The database folds both sides, so the fold matches the index on lower(repository).
    const rows = await this.#db
      .selectFrom("sources")
      .selectAll()
      .where("provider", "=", provider)
      .where((eb) => eb(eb.fn("lower", ["repository"]), "=", eb.fn("lower", [eb.val(forgeRepository)])))
      .orderBy("id")
      .execute();
    return rows.map(toSourceRecord);
  }

  async configVersion(): Promise<number> {
    const [row] = await this.#compiled.execute(this.#db, "configVersion", [1], () =>
      this.#db.selectFrom("config_version").select("version").where("id", "=", 1),
    );
    if (row === undefined) throw new Error("the config_version row is missing: run the migrations");
    // PostgreSQL's integer comes back as a number; a bigint would come back as text.
    return Number(row.version);
  }

  // Rules

  async listRules(repositoryId: string): Promise<RuleRecord[]> {
    const rows = await this.#compiled.execute(this.#db, "listRules", [repositoryId], () =>
      this.#db.selectFrom("rules").selectAll().where("repository_id", "=", repositoryId).orderBy("id"),
    );
    return rows.map(toRuleRecord);
  }

  async getRule(id: string): Promise<RuleRecord | undefined> {
    const row = await this.#db.selectFrom("rules").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRuleRecord(row);
  }

  async createRule(repositoryId: string, input: RuleInput): Promise<RuleRecord> {
    await this.#requireRepository(repositoryId);
    const row = await this.#db
      .insertInto("rules")
      .values(toRuleRow(newId(), repositoryId, input, now()))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRuleRecord(row);
  }

  async updateRule(id: string, patch: Partial<RuleInput>): Promise<RuleRecord | undefined> {
    const changes = toRuleChanges(patch);
    if (Object.keys(changes).length === 0) return this.getRule(id);
    const row = await this.#db
      .updateTable("rules")
      .set(changes)
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row && toRuleRecord(row);
  }

  async deleteRule(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom("rules").where("id", "=", id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // Deliveries

  async recordDelivery(delivery: NewDelivery, builds: NewBuild[]): Promise<RecordedDelivery> {
    const [recorded] = await this.recordDeliveries([{ delivery, builds }]);
    return recorded!;
  }

  async recordDeliveries(items: DeliveryToRecord[]): Promise<RecordedDelivery[]> {
    if (items.length === 0) return [];
    return this.#db.transaction().execute(async (trx) => {
      const receivedAt = now();
      const rows = items.map(({ delivery }) => toDeliveryRow(newId(), delivery, receivedAt));
      // A concurrent insert of the same key waits for the other transaction (PostgreSQL)
      // or cannot run beside it (SQLite's write lock); either way one row wins. Rows go in
      // key order (a stable sort: of two with one key the earlier wins), so two batches
      // sharing keys lock them in the same order and cannot deadlock.
      const byKey = [...rows].sort(compareDeliveryKeys);
      const inserted = new Set<string>();
      for (const chunk of chunksOf(byKey, DELIVERY_ROWS_PER_INSERT)) {
        const returned = await this.#compiled.insert(trx, "insertDeliveries", chunk, () =>
          trx
            .insertInto("deliveries")
            .values(chunk)
            .onConflict((oc) => oc.columns(["provider", "delivery_key"]).where(CLAIMS_DELIVERY_KEY).doNothing())
            .returning("id"),
        );
        for (const { id } of returned) inserted.add(id);
      }

      const created = await insertBuilds(
        this.#compiled,
        trx,
        items.flatMap(({ builds }, i) => (inserted.has(rows[i]!.id) ? builds.map((build) => ({ build, deliveryId: rows[i]!.id })) : [])),
        receivedAt,
      );
      const buildsOf = new Map<string, BuildRecord[]>();
      for (const build of created) {
        const deliveryId = build.cause.delivery!;
        buildsOf.set(deliveryId, [...(buildsOf.get(deliveryId) ?? []), build]);
      }

      const results: RecordedDelivery[] = [];
      for (const row of rows) {
        if (inserted.has(row.id)) {
          const builds = buildsOf.get(row.id) ?? [];
          results.push({ delivery: toDeliveryRecord(row, builds.map((b) => b.id)), builds, duplicate: false });
          continue;
        }
        // Its key was claimed before, maybe earlier in this batch: that delivery answers.
        const first = await trx
          .selectFrom("deliveries")
          .selectAll()
          .where("provider", "=", row.provider)
          .where("delivery_key", "=", row.delivery_key)
          .where(CLAIMS_DELIVERY_KEY)
          .executeTakeFirstOrThrow();
        const firstBuilds = await selectBuildsOfDeliveries(trx, [first.id]);
        results.push({ delivery: toDeliveryRecord(first, firstBuilds.map((b) => b.id)), builds: firstBuilds, duplicate: true });
      }
      return results;
    });
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = await this.#db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirst();
    if (row === undefined) return undefined;
    const [delivery] = await this.#withBuildIds([row]);
    return delivery;
  }

  async setDeliveryAnswer(id: string, status: number, reason: string | null): Promise<void> {
    await this.#db.updateTable("deliveries").set({ status, reason }).where("id", "=", id).execute();
  }

  async listDeliveries(query: PageQuery & { sourceId?: string | undefined }): Promise<Page<DeliveryRecord>> {
    const limit = checkLimit(query.limit);
    let q = this.#db
      .selectFrom("deliveries")
      .selectAll()
      .orderBy("id", "desc")
      .limit(limit + 1);
    if (query.sourceId !== undefined) q = q.where("source_id", "=", query.sourceId);
    if (query.cursor !== undefined) q = q.where("id", "<", query.cursor);
    const rows = await q.execute();
    return toPage(await this.#withBuildIds(rows), limit, (d) => d.id);
  }

  async #withBuildIds(rows: DeliveryTable[]): Promise<DeliveryRecord[]> {
    const ids = new Map<string, string[]>(rows.map((r) => [r.id, []]));
    if (ids.size > 0) {
      const builds = await this.#db
        .selectFrom("builds")
        .select(["id", "delivery_id"])
        .where("delivery_id", "in", [...ids.keys()])
        .orderBy("id")
        .execute();
      for (const b of builds) if (b.delivery_id !== null) ids.get(b.delivery_id)?.push(b.id);
    }
    return rows.map((r) => toDeliveryRecord(r, ids.get(r.id) ?? []));
  }

  // Builds

  async createBuilds(builds: NewBuild[]): Promise<BuildRecord[]> {
    if (builds.length === 0) return [];
    return this.#db.transaction().execute((trx) =>
      insertBuilds(
        this.#compiled,
        trx,
        builds.map((build) => ({ build, deliveryId: null })),
        now(),
      ),
    );
  }

  async getBuild(id: string): Promise<BuildRecord | undefined> {
    const row = await this.#db.selectFrom("builds").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toBuildRecord(row);
  }

  async getBuilds(ids: string[]): Promise<BuildRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db.selectFrom("builds").selectAll().where("id", "in", ids).execute();
    return inOrderOf(ids, rows.map(toBuildRecord));
  }

  async listBuilds(repositoryId: string, query: BuildListQuery): Promise<Page<BuildRecord>> {
    const limit = checkLimit(query.limit);
    let q = this.#db
      .selectFrom("builds")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .orderBy("id", "desc")
      .limit(limit + 1);
    if (query.status !== undefined) q = q.where("status", "=", query.status);
    if (query.sourceName !== undefined) q = q.where("source_name", "=", query.sourceName);
    if (query.sourceType !== undefined) q = q.where("source_type", "=", query.sourceType);
    if (query.cursor !== undefined) q = q.where("id", "<", query.cursor);
    const rows = await q.execute();
    return toPage(rows.map(toBuildRecord), limit, (b) => b.id);
  }

  async countBuildsByStatus(): Promise<Partial<Record<BuildStatus, number>>> {
    const rows = await this.#db
      .selectFrom("builds")
      .select(["status", (eb) => eb.fn.countAll<number | string>().as("count")])
      .groupBy("status")
      .execute();
    // PostgreSQL counts are bigint, which pg returns as text.
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
  }

  async listBuildsByStatus(statuses: BuildStatus[], limit: number): Promise<BuildRecord[]> {
    if (statuses.length === 0) return [];
    const rows = await this.#db
      .selectFrom("builds")
      .selectAll()
      .where("status", "in", statuses)
      .orderBy("id")
      .limit(checkLimit(limit))
      .execute();
    return rows.map(toBuildRecord);
  }

  async transitionBuild(
    id: string,
    from: BuildStatus[],
    to: BuildStatus,
    update: BuildUpdate = {},
  ): Promise<BuildRecord | undefined> {
    if (from.length === 0) return undefined;
    return this.#db.transaction().execute(async (trx) => {
      // The compare-and-set: on PostgreSQL a concurrent transition waits for this row's lock,
      // then re-checks the status, so two of them never both win.
      const row = await trx
        .updateTable("builds")
        .set(toBuildChanges(to, update))
        .where("id", "=", id)
        .where("status", "in", from)
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) return undefined;
      // Safe to count on: the row lock above is held until commit.
      const last = await trx
        .selectFrom("build_events")
        .select((eb) => eb.fn.max<number | null>("seq").as("seq"))
        .where("build_id", "=", id)
        .executeTakeFirst();
      await trx
        .insertInto("build_events")
        .values({ build_id: id, seq: (last?.seq ?? 0) + 1, status: to, at: now() })
        .execute();
      return toBuildRecord(row);
    });
  }

  async listBuildEvents(buildId: string): Promise<BuildEventRecord[]> {
    const rows = await this.#db
      .selectFrom("build_events")
      .selectAll()
      .where("build_id", "=", buildId)
      .orderBy("seq")
      .execute();
    return rows.map(toBuildEventRecord);
  }

  // Logs

  async appendBuildLog(buildId: string, data: string): Promise<number> {
    return this.#db.transaction().execute(async (trx) => {
      // A counter on the build row: the increment locks the row, so concurrent appends queue up.
      const counter = await trx
        .updateTable("builds")
        .set((eb) => ({ log_seq: eb("log_seq", "+", 1) }))
        .where("id", "=", buildId)
        .returning("log_seq")
        .executeTakeFirst();
      if (counter === undefined) throw new SlipwayError("not_found", `build ${buildId} not found`);
      await trx.insertInto("build_logs").values({ build_id: buildId, seq: counter.log_seq, data, at: now() }).execute();
      return counter.log_seq;
    });
  }

  async readBuildLog(buildId: string, afterSeq = 0): Promise<LogChunk[]> {
    const rows = await this.#db
      .selectFrom("build_logs")
      .select(["seq", "data", "at"])
      .where("build_id", "=", buildId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .execute();
    return rows.map(toLogChunk);
  }

  async clearBuildLog(buildId: string): Promise<void> {
    // The counter is kept: sequence numbers never repeat, so a follower reading "after n" still
    // sees every chunk of the new log.
    await this.#db.deleteFrom("build_logs").where("build_id", "=", buildId).execute();
  }

  // Tags

  async claimTags(repositoryId: string, buildId: string, tags: string[], rank: string): Promise<string[]> {
    // Sorted, so concurrent claims lock the rows in one order and cannot deadlock.
    const unique = [...new Set(tags)].sort();
    if (unique.length === 0) return [];
    // One statement, atomic on both databases: take free tags, and tags whose owner is not newer.
    const rows = await this.#db
      .insertInto("tag_heads")
      .values(unique.map((tag) => ({ repository_id: repositoryId, tag, build_id: buildId, rank })))
      .onConflict((oc) =>
        oc
          .columns(["repository_id", "tag"])
          .doUpdateSet((eb) => ({ build_id: eb.ref("excluded.build_id"), rank: eb.ref("excluded.rank") }))
          .whereRef("tag_heads.rank", "<=", "excluded.rank"),
      )
      .returning("tag")
      .execute();
    const claimed = new Set(rows.map((r) => r.tag));
    return [...new Set(tags)].filter((tag) => claimed.has(tag));
  }

  async #requireRepository(id: string): Promise<void> {
    const row = await this.#db.selectFrom("repositories").select("id").where("id", "=", id).executeTakeFirst();
    if (row === undefined) throw new SlipwayError("not_found", `repository ${id} not found`);
  }
}

/**
 * Rows per INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters, and few
 * enough shapes (one per row count) for the compiled queries and SQLite's statement cache.
 */
const DELIVERY_ROWS_PER_INSERT = 64;
const BUILD_ROWS_PER_INSERT = 64;
const EVENT_ROWS_PER_INSERT = 128;

/**
 * Inserts queued builds, each with its first event; a delivery's builds name it in their cause.
 * The records are made from the rows as written (no RETURNING), in the order given.
 */
async function insertBuilds(
  compiled: CompiledQueries,
  db: Kysely<Database>,
  builds: { build: NewBuild; deliveryId: string | null }[],
  at: string,
): Promise<BuildRecord[]> {
  if (builds.length === 0) return [];
  const rows = builds.map(({ build, deliveryId }) =>
    toBuildRow(newId(), deliveryId === null ? build : { ...build, cause: { ...build.cause, delivery: deliveryId } }, deliveryId, at),
  );
  for (const chunk of chunksOf(rows, BUILD_ROWS_PER_INSERT)) {
    await compiled.insert(db, "insertBuilds", chunk, () => db.insertInto("builds").values(chunk));
  }
  const events = rows.flatMap((r) => [
    { build_id: r.id, seq: 1, status: "queued", at },
    ...(r.status === "queued" ? [] : [{ build_id: r.id, seq: 2, status: r.status, at }]),
  ]);
  for (const chunk of chunksOf(events, EVENT_ROWS_PER_INSERT)) {
    await compiled.insert(db, "insertBuildEvents", chunk, () => db.insertInto("build_events").values(chunk));
  }
  return rows.map(toBuildRecord);
}

function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Orders delivery rows by (provider, delivery key); rows without either come first. */
function compareDeliveryKeys(a: DeliveryTable, b: DeliveryTable): number {
  const pa = a.provider ?? "";
  const pb = b.provider ?? "";
  if (pa !== pb) return pa < pb ? -1 : 1;
  const ka = a.delivery_key ?? "";
  const kb = b.delivery_key ?? "";
  return ka === kb ? 0 : ka < kb ? -1 : 1;
}

async function selectBuildsOfDeliveries(db: Kysely<Database>, deliveryIds: string[]): Promise<BuildRecord[]> {
  const rows = await db.selectFrom("builds").selectAll().where("delivery_id", "in", deliveryIds).orderBy("id").execute();
  return rows.map(toBuildRecord);
}

function inOrderOf<T extends { id: string }>(ids: string[], items: T[]): T[] {
  const byId = new Map(items.map((item) => [item.id, item]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new SlipwayError("bad_request", `limit must be a positive integer, got ${limit}`);
  }
  return limit;
}

/** `rows` holds up to limit + 1 items; the extra one only says there is a next page. */
function toPage<T>(rows: T[], limit: number, cursorOf: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

function toRepositoryCursor(repository: RepositoryRecord): string {
  return Buffer.from(JSON.stringify([repository.namespace, repository.name])).toString("base64url");
}

function parseRepositoryCursor(cursor: string): [string, string] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch (err) {
    throw new SlipwayError("bad_request", "invalid cursor", { cause: err });
  }
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") {
    return [value[0], value[1]];
  }
  throw new SlipwayError("bad_request", "invalid cursor");
}
