import type { Kysely, Migration } from "kysely";

/** The webhooks tables (issue 5). */
export const webhooksMigration: Migration = {
  async up(_db: Kysely<unknown>): Promise<void> {},
  async down(_db: Kysely<unknown>): Promise<void> {},
};
