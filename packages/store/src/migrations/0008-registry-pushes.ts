import { sql, type Kysely, type Migration } from "kysely";

const DELIVERY_COLUMNS = "id, webhook_id, build_id, event, tag, payload, status, attempt_count, created_at, updated_at";
const ATTEMPT_COLUMNS = "delivery_id, attempt, at, status_code, error, duration_ms, response";

/**
 * Pushes by hand (`docker push`, reported by the registry), and webhook deliveries about them: a
 * delivery is now of a build or of a push. `build_id` loses its NOT NULL, which SQLite can only do by
 * making the table again; the same portable steps serve PostgreSQL. The attempts, which reference
 * the deliveries, are set aside first, so that dropping the old table cascades into nothing.
 */
export const registryPushesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("registry_pushes")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      // The registry's event id: a notification sent again is recorded once.
      .addColumn("event_id", "text", (c) => c.notNull().unique())
      .addColumn("tag", "text", (c) => c.notNull())
      .addColumn("digest", "text", (c) => c.notNull())
      .addColumn("pusher", "text", (c) => c.notNull())
      .addColumn("pushed_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("registry_pushes_repository_id_idx").on("registry_pushes").columns(["repository_id", "id"]).execute();

    await db.schema
      .createTable("webhook_deliveries_next")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
      .addColumn("build_id", "text", (c) => c.references("builds.id").onDelete("cascade"))
      .addColumn("push_id", "text", (c) => c.references("registry_pushes.id").onDelete("cascade"))
      .addColumn("event", "text", (c) => c.notNull())
      .addColumn("tag", "text", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("attempt_count", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      // A fan-out runs once per build or push, however often it is tried.
      .addUniqueConstraint("webhook_deliveries_of_build_key", ["webhook_id", "build_id", "tag"])
      .addUniqueConstraint("webhook_deliveries_of_push_key", ["webhook_id", "push_id", "tag"])
      .addCheckConstraint("webhook_deliveries_build_or_push", sql`(build_id is null) <> (push_id is null)`)
      .execute();
    await sql.raw(`insert into webhook_deliveries_next (${DELIVERY_COLUMNS}) select ${DELIVERY_COLUMNS} from webhook_deliveries`).execute(db);
    await sql.raw(`create table webhook_attempts_kept as select ${ATTEMPT_COLUMNS} from webhook_attempts`).execute(db);
    await db.schema.dropTable("webhook_attempts").execute();
    await db.schema.dropTable("webhook_deliveries").execute();
    await db.schema.alterTable("webhook_deliveries_next").renameTo("webhook_deliveries").execute();
    await db.schema.createIndex("webhook_deliveries_webhook_id_idx").on("webhook_deliveries").columns(["webhook_id", "id"]).execute();
    await db.schema.createIndex("webhook_deliveries_build_id_idx").on("webhook_deliveries").column("build_id").execute();
    await db.schema.createIndex("webhook_deliveries_push_id_idx").on("webhook_deliveries").column("push_id").execute();
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
    await sql.raw(`insert into webhook_attempts (${ATTEMPT_COLUMNS}) select ${ATTEMPT_COLUMNS} from webhook_attempts_kept`).execute(db);
    await db.schema.dropTable("webhook_attempts_kept").execute();
  },

  async down(): Promise<void> {
    throw new Error("0008_registry_pushes cannot be undone: deliveries of pushes have no build to belong to");
  },
};
