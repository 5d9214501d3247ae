import type { Kysely, Migration } from "kysely";

/** The variables tables (issue 5). */
export const variablesMigration: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
  async down(_db: Kysely<unknown>): Promise<void> {},
};
