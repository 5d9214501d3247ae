import type { Kysely, Migration } from "kysely";

/** The outgoing webhooks tables (issue 5). Portable DDL only, like 0001_initial. */
export const webhooksMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("webhooks")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("url", "text", (c) => c.notNull())
      .addColumn("secret_enc", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("webhooks_repository_id_idx").on("webhooks").columns(["repository_id", "id"]).execute();

    await db.schema
      .createTable("webhook_deliveries")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
      .addColumn("build_id", "text", (c) => c.notNull().references("builds.id").onDelete("cascade"))
      .addColumn("event", "text", (c) => c.notNull())
      .addColumn("tag", "text", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("attempt_count", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      // A build's end fans out once: running the fan-out again must not send twice.
      .addUniqueConstraint("webhook_deliveries_webhook_build_tag_key", ["webhook_id", "build_id", "tag"])
      .execute();
    await db.schema
      .createIndex("webhook_deliveries_webhook_id_idx")
      .on("webhook_deliveries")
      .columns(["webhook_id", "id"])
      .execute();
    await db.schema.createIndex("webhook_deliveries_build_id_idx").on("webhook_deliveries").column("build_id").execute();

    await db.schema
      .createTable("webhook_attempts")
      .addColumn("delivery_id", "text", (c) => c.notNull().references("webhook_deliveries.id").onDelete("cascade"))
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("at", "text", (c) => c.notNull())
      .addColumn("status_code", "integer")
      .addColumn("error", "text")
      .addColumn("duration_ms", "integer", (c) => c.notNull())
      .addColumn("response", "text")
      .addPrimaryKeyConstraint("webhook_attempts_pkey", ["delivery_id", "attempt"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ["webhook_attempts", "webhook_deliveries", "webhooks"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
