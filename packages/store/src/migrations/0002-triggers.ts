import type { Kysely, Migration } from "kysely";

/** The triggers table (issue 5). Portable DDL only, like 0001_initial. */
export const triggersMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("triggers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("last_used_at", "text")
      .addColumn("revoked_at", "text")
      .execute();
    await db.schema.createIndex("triggers_repository_id_idx").on("triggers").columns(["repository_id", "id"]).execute();
    // A trigger call finds its trigger by the token's hash.
    await db.schema.createIndex("triggers_token_hash_idx").on("triggers").column("token_hash").execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("triggers").execute();
  },
};
