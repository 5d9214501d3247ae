import type { Kysely, Migration } from "kysely";

/** The triggers tables (issue 5). */
export const triggersMigration: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
  async down(_db: Kysely<unknown>): Promise<void> {},
};
