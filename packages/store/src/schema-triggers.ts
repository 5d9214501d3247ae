/** Table shapes of the triggers feature; merged into Database in schema.ts. */
export interface TriggerTables {
  triggers: TriggerTable;
}

/** A trigger URL of a repository (CONTRACT §4). Only the token's SHA-256 is kept. */
export interface TriggerTable {
  id: string;
  repository_id: string;
  name: string;
  /** Hex SHA-256 of the token (indexed: calls look triggers up by it); the token is 32 random bytes, so a fast hash suffices. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  /** Set when revoked; the row stays so builds it started still name it. */
  revoked_at: string | null;
}
