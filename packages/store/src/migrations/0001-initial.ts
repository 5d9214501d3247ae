import { sql, type Kysely, type Migration, type SqlBool } from "kysely";

/**
 * The first schema. Portable DDL only (both SQLite and PostgreSQL run it unchanged).
 * A migration is history: once released, never edit it; add the next one instead.
 */
export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("repositories")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("namespace", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("private", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
      .addColumn("registry_url", "text")
      .addColumn("registry_username", "text")
      .addColumn("registry_password_enc", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addUniqueConstraint("repositories_namespace_name_key", ["namespace", "name"])
      .execute();

    await db.schema
      .createTable("sources")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) =>
        c.notNull().unique().references("repositories.id").onDelete("cascade"),
      )
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("repository", "text", (c) => c.notNull())
      .addColumn("clone_url", "text", (c) => c.notNull())
      .addColumn("secret_enc", "text")
      .addColumn("credentials_enc", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    // Organisation hooks find their source by forge and repository name, case-insensitively.
    await db.schema
      .createIndex("sources_provider_repository_idx")
      .on("sources")
      .column("provider")
      .expression(sql`lower(repository)`)
      .execute();

    await db.schema
      .createTable("rules")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("source_type", "text", (c) => c.notNull())
      .addColumn("source_name", "text", (c) => c.notNull())
      .addColumn("docker_tag", "text", (c) => c.notNull())
      .addColumn("dockerfile", "text", (c) => c.notNull())
      .addColumn("context", "text", (c) => c.notNull())
      .addColumn("autobuild", "integer", (c) => c.notNull())
      .addColumn("cache", "integer", (c) => c.notNull())
      .addColumn("build_args", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("rules_repository_id_idx").on("rules").columns(["repository_id", "id"]).execute();

    // Deliveries outlive the source they named: they are the hook's audit trail.
    await db.schema
      .createTable("deliveries")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("source_id", "text", (c) => c.references("sources.id").onDelete("set null"))
      .addColumn("provider", "text")
      .addColumn("event", "text")
      .addColumn("delivery_key", "text")
      .addColumn("received_at", "text", (c) => c.notNull())
      .addColumn("status", "integer", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("reason", "text")
      .execute();
    // Only deliveries that were acted on claim their key: a rejected one (bad signature,
    // unknown source) must not keep the genuine delivery with that key from building.
    // The same predicate, verbatim, is the ON CONFLICT target in recordDelivery.
    await db.schema
      .createIndex("deliveries_provider_delivery_key_key")
      .on("deliveries")
      .columns(["provider", "delivery_key"])
      .unique()
      .where(sql.raw<SqlBool>("delivery_key is not null and outcome in ('queued', 'ignored')"))
      .execute();
    await db.schema.createIndex("deliveries_source_id_idx").on("deliveries").columns(["source_id", "id"]).execute();

    await db.schema
      .createTable("builds")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("repository", "text", (c) => c.notNull())
      .addColumn("rule_id", "text", (c) => c.references("rules.id").onDelete("set null"))
      .addColumn("delivery_id", "text", (c) => c.references("deliveries.id").onDelete("set null"))
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("cause", "text", (c) => c.notNull())
      .addColumn("source_type", "text", (c) => c.notNull())
      .addColumn("source_name", "text", (c) => c.notNull())
      .addColumn("commit_sha", "text", (c) => c.notNull())
      .addColumn("commit_message", "text", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("dockerfile", "text", (c) => c.notNull())
      .addColumn("context", "text", (c) => c.notNull())
      .addColumn("cache", "integer", (c) => c.notNull())
      .addColumn("build_args", "text", (c) => c.notNull())
      .addColumn("image", "text", (c) => c.notNull())
      .addColumn("digest", "text")
      .addColumn("error", "text")
      .addColumn("queued_at", "text", (c) => c.notNull())
      .addColumn("started_at", "text")
      .addColumn("finished_at", "text")
      .addColumn("log_seq", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex("builds_repository_id_idx").on("builds").columns(["repository_id", "id"]).execute();
    await db.schema
      .createIndex("builds_repository_id_status_idx")
      .on("builds")
      .columns(["repository_id", "status", "id"])
      .execute();
    await db.schema.createIndex("builds_status_idx").on("builds").columns(["status", "id"]).execute();
    await db.schema.createIndex("builds_delivery_id_idx").on("builds").column("delivery_id").execute();
    // Indexed so deleting a rule (SET NULL on its builds) does not scan every build.
    await db.schema.createIndex("builds_rule_id_idx").on("builds").column("rule_id").execute();

    await db.schema
      .createTable("build_events")
      .addColumn("build_id", "text", (c) => c.notNull().references("builds.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("build_events_pkey", ["build_id", "seq"])
      .execute();

    await db.schema
      .createTable("build_logs")
      .addColumn("build_id", "text", (c) => c.notNull().references("builds.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("data", "text", (c) => c.notNull())
      .addColumn("at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("build_logs_pkey", ["build_id", "seq"])
      .execute();

    await db.schema
      .createTable("tag_heads")
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("tag", "text", (c) => c.notNull())
      .addColumn("build_id", "text", (c) => c.notNull().references("builds.id").onDelete("cascade"))
      .addColumn("rank", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("tag_heads_pkey", ["repository_id", "tag"])
      .execute();
    await db.schema.createIndex("tag_heads_build_id_idx").on("tag_heads").column("build_id").execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      "tag_heads",
      "build_logs",
      "build_events",
      "builds",
      "deliveries",
      "rules",
      "sources",
      "repositories",
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
