import { Migrator, type Kysely, type Migration } from "kysely";
import { initial } from "./0001-initial.js";
import { triggersMigration } from "./0002-triggers.js";
import { variablesMigration } from "./0003-variables.js";
import { webhooksMigration } from "./0004-webhooks.js";
import { buildsBySourceMigration } from "./0005-builds-by-source.js";
import { accountsMigration } from "./0006-accounts.js";
import { configVersionMigration } from "./0007-config-version.js";
import { registryPushesMigration } from "./0008-registry-pushes.js";

/** Every migration, by name; names sort in the order they run. */
export const migrations: Readonly<Record<string, Migration>> = {
  "0001_initial": initial,
  "0002_triggers": triggersMigration,
  "0003_variables": variablesMigration,
  "0004_webhooks": webhooksMigration,
  "0005_builds_by_source": buildsBySourceMigration,
  "0006_accounts": accountsMigration,
  "0007_config_version": configVersionMigration,
  "0008_registry_pushes": registryPushesMigration,
};

/** A migrator over the in-code migrations (no files to find at run time). */
export function createMigrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
  });
}
