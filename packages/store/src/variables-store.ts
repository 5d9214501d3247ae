import { isValidVariableKey, newId, SlipwayError, VARIABLE_KEY_HINT } from "@slipway/core";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { BuildVariableTable } from "./schema-variables.js";

/** A build variable as the store keeps it: its value sealed, so the store never sees a secret in clear. */
export interface VariableRecord {
  id: string;
  repositoryId: string;
  /** `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters; case matters, as in a Dockerfile. */
  key: string;
  /** Sealed by the caller (core's secret box), secret or not. */
  valueEnc: string;
  /** A secret's value is never shown again, and is masked in build logs. */
  secret: boolean;
  createdAt: string;
  updatedAt: string;
}

export type NewVariable = Pick<VariableRecord, "key" | "valueEnc" | "secret">;

/** The variables part of the store (CONTRACT §5): reached as `store.variables`. */
export interface VariableStore {
  /** The repository's variables, by key (code-unit order, the same on both databases). */
  list(repositoryId: string): Promise<VariableRecord[]>;
  get(repositoryId: string, key: string): Promise<VariableRecord | undefined>;
  /**
   * Creates the variable or replaces its value and secrecy (keeping its id and createdAt).
   * SlipwayError("validation_failed") for a bad key, ("not_found") when the repository does not exist.
   */
  set(repositoryId: string, input: NewVariable): Promise<{ variable: VariableRecord; created: boolean }>;
  /** False when there was no such variable. */
  delete(repositoryId: string, key: string): Promise<boolean>;
}

function toVariableRecord(row: BuildVariableTable): VariableRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    key: row.key,
    valueEnc: row.value_enc,
    secret: row.secret !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function createVariableStore(db: Kysely<Database>): VariableStore {
  return {
    async list(repositoryId) {
      const rows = await db.selectFrom("build_variables").selectAll().where("repository_id", "=", repositoryId).execute();
      // Sorted here: PostgreSQL's collation would put "a" before "B", SQLite the other way round.
      return rows.map(toVariableRecord).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async get(repositoryId, key) {
      const row = await db
        .selectFrom("build_variables")
        .selectAll()
        .where("repository_id", "=", repositoryId)
        .where("key", "=", key)
        .executeTakeFirst();
      return row && toVariableRecord(row);
    },

    async set(repositoryId, input) {
      if (!isValidVariableKey(input.key)) throw new SlipwayError("validation_failed", VARIABLE_KEY_HINT);
      const repo = await db.selectFrom("repositories").select("id").where("id", "=", repositoryId).executeTakeFirst();
      if (repo === undefined) throw new SlipwayError("not_found", `repository ${repositoryId} not found`);
      const id = newId();
      const now = new Date().toISOString();
      const changes = { value_enc: input.valueEnc, secret: input.secret ? 1 : 0, updated_at: now };
      const row = await db
        .insertInto("build_variables")
        .values({ id, repository_id: repositoryId, key: input.key, ...changes, created_at: now })
        .onConflict((oc) => oc.columns(["repository_id", "key"]).doUpdateSet(changes))
        .returningAll()
        .executeTakeFirstOrThrow();
      // A replaced row keeps its id: the new one shows that this call created it.
      return { variable: toVariableRecord(row), created: row.id === id };
    },

    async delete(repositoryId, key) {
      const result = await db
        .deleteFrom("build_variables")
        .where("repository_id", "=", repositoryId)
        .where("key", "=", key)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}
