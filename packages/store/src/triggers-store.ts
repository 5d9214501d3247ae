import { newId, SlipwayError } from "@slipway/core";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { TriggerTable } from "./schema-triggers.js";

/** A trigger URL as the store keeps it: never the token, only its hash. */
export interface TriggerRecord {
  id: string;
  repositoryId: string;
  name: string;
  /** Hex SHA-256 of the token. */
  tokenHash: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export type NewTrigger = Pick<TriggerRecord, "name" | "tokenHash">;

/** The triggers part of the store (CONTRACT §4): reached as `store.triggers`. */
export interface TriggerStore {
  /** SlipwayError("not_found") when the repository does not exist. */
  create(repositoryId: string, input: NewTrigger): Promise<TriggerRecord>;
  /** The repository's triggers that are not revoked, in creation order. */
  list(repositoryId: string): Promise<TriggerRecord[]>;
  /** A trigger by id, revoked or not. */
  get(id: string): Promise<TriggerRecord | undefined>;
  /**
   * The live trigger whose token has this hash (hex SHA-256), of any repository: the caller
   * checks it belongs to the repository it was called for. An indexed lookup is safe here: the
   * token is 32 random bytes, so a hash's timing tells nothing about another token.
   */
  findByTokenHash(tokenHash: string): Promise<TriggerRecord | undefined>;
  /** Revokes a trigger for good; false when there is none or it was revoked already. */
  revoke(id: string): Promise<boolean>;
  /** Records a call (`lastUsedAt`). */
  markUsed(id: string, at?: string): Promise<void>;
}

function toTriggerRecord(row: TriggerTable): TriggerRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    name: row.name,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export function createTriggerStore(db: Kysely<Database>): TriggerStore {
  return {
    async create(repositoryId, input) {
      const repo = await db.selectFrom("repositories").select("id").where("id", "=", repositoryId).executeTakeFirst();
      if (repo === undefined) throw new SlipwayError("not_found", `repository ${repositoryId} not found`);
      const row = await db
        .insertInto("triggers")
        .values({
          id: newId(),
          repository_id: repositoryId,
          name: input.name,
          token_hash: input.tokenHash,
          created_at: new Date().toISOString(),
          last_used_at: null,
          revoked_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toTriggerRecord(row);
    },

    async list(repositoryId) {
      const rows = await db
        .selectFrom("triggers")
        .selectAll()
        .where("repository_id", "=", repositoryId)
        .where("revoked_at", "is", null)
        .orderBy("id")
        .execute();
      return rows.map(toTriggerRecord);
    },

    async get(id) {
      const row = await db.selectFrom("triggers").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toTriggerRecord(row);
    },

    async findByTokenHash(tokenHash) {
      const row = await db
        .selectFrom("triggers")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return row && toTriggerRecord(row);
    },

    async revoke(id) {
      const result = await db
        .updateTable("triggers")
        .set({ revoked_at: new Date().toISOString() })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async markUsed(id, at = new Date().toISOString()) {
      await db.updateTable("triggers").set({ last_used_at: at }).where("id", "=", id).execute();
    },
  };
}
