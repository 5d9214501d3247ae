import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The variables part of the store (issue 5): reached as `store.variables`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface VariableStore {}

export function createVariableStore(_db: Kysely<Database>): VariableStore {
  return {};
}
