export { createStore, type StoreOptions } from "./create-store.js";
export type * from "./types.js";
export type { AccessTokenRecord, Namespace, NewUser, OrganizationRecord, TeamRecord, UserRecord } from "./accounts-store.js";
export type { NewTrigger, TriggerRecord } from "./triggers-store.js";
export type { NewVariable, VariableRecord } from "./variables-store.js";
export type {
  DeliverySubject,
  NewRegistryPush,
  RegistryPushRecord,
  NewWebhook,
  NewWebhookAttempt,
  NewWebhookDelivery,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookDeliveryStatus,
  WebhookRecord,
} from "./webhooks-store.js";
