import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The triggers part of the store (issue 5): reached as `store.triggers`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TriggerStore {}

export function createTriggerStore(_db: Kysely<Database>): TriggerStore {
  return {};
}
