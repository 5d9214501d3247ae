/** Table shapes of the webhooks feature; merged into Database in schema.ts. */
export interface WebhookTables {
  webhooks: WebhookTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  registry_pushes: RegistryPushTable;
}

/** An image pushed by hand (`docker push`), as the registry reported it. */
export interface RegistryPushTable {
  id: string;
  repository_id: string;
  /** The registry's event id. */
  event_id: string;
  tag: string;
  digest: string;
  /** The username (empty for anonymous). */
  pusher: string;
  pushed_at: string;
}

/** An outgoing webhook of a repository (CONTRACT §7). The secret is sealed by the caller. */
export interface WebhookTable {
  id: string;
  repository_id: string;
  name: string;
  url: string;
  secret_enc: string | null;
  created_at: string;
}

/** One payload for one webhook: a build's end (for a push, one per pushed tag), or a push by hand. Exactly one of build_id and push_id is set. */
export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  build_id: string | null;
  push_id: string | null;
  event: string;
  /** The pushed tag; "" for events about no tag (so that the unique key holds on both databases). */
  tag: string;
  /** The body exactly as sent, so that a redelivery sends the same bytes. */
  payload: string;
  status: string;
  /** Attempts made so far, across redeliveries: numbers the next attempt. */
  attempt_count: number;
  created_at: string;
  updated_at: string;
}

export interface WebhookAttemptTable {
  delivery_id: string;
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  response: string | null;
}
