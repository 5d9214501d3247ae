import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The webhooks part of the store (issue 5): reached as `store.webhooks`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface WebhookStore {}

export function createWebhookStore(_db: Kysely<Database>): WebhookStore {
  return {};
}
