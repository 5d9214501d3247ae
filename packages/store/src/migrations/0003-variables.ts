import type { Kysely, Migration } from "kysely";

/** The build variables table (issue 5). Portable DDL only, like 0001_initial. */
export const variablesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("build_variables")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("value_enc", "text", (c) => c.notNull())
      .addColumn("secret", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      // Also the index a repository's variables are read by, and the upsert's conflict target.
      .addUniqueConstraint("build_variables_repository_id_key_key", ["repository_id", "key"])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("build_variables").execute();
  },
};
