export { createStore, type StoreOptions } from "./create-store.js";
export type * from "./types.js";
export type { NewTrigger, TriggerRecord } from "./triggers-store.js";
export type { NewVariable, VariableRecord } from "./variables-store.js";
export type {
  NewWebhook,
  NewWebhookAttempt,
  NewWebhookDelivery,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookDeliveryStatus,
  WebhookRecord,
} from "./webhooks-store.js";
