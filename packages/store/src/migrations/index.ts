import { Migrator, type Kysely, type Migration } from "kysely";
import { initial } from "./0001-initial.js";

/** Every migration, by name; names sort in the order they run. */
export const migrations: Readonly<Record<string, Migration>> = {
  "0001_initial": initial,
};

/** A migrator over the in-code migrations (no files to find at run time). */
export function createMigrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
  });
}
