import type { Kysely, Migration } from "kysely";

/**
 * A repository's builds of one branch or tag, newest first (the dashboard's filter), read
 * by keyset on id without scanning the repository's other builds. Portable DDL only.
 */
export const buildsBySourceMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex("builds_repository_id_source_name_idx")
      .on("builds")
      .columns(["repository_id", "source_name", "id"])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex("builds_repository_id_source_name_idx").execute();
  },
};
