import type { SecretBox } from "@slipway/core";
import type { BuildEventBus, BuildQueue, createRedis, WebhookQueue } from "@slipway/queue";
import type { Store } from "@slipway/store";
import type { Logger } from "pino";
import type { BuildService } from "../builds/build-service.js";

/** What the API's route modules are built from. */
export interface RouteDeps {
  store: Store;
  builds: BuildService;
  queue: BuildQueue;
  bus: BuildEventBus;
  secrets: SecretBox;
  logger: Logger;
  publicUrl: string;
  /** Outgoing webhooks may target private addresses (SLIPWAY_WEBHOOK_ALLOW_PRIVATE), as the worker's sender is told. */
  webhookAllowPrivate: boolean;
  /** Outgoing webhook deliveries (redeliveries are queued here). */
  webhookQueue: WebhookQueue;
  rateLimit: RateLimitDeps;
}

/** What the API processes share through Redis (rate limits), with Slipway's key prefix. */
export interface RateLimitDeps {
  redis: ReturnType<typeof createRedis>;
  prefix: string;
  /** Calls a minute each trigger URL takes (SLIPWAY_TRIGGER_RATE_LIMIT). */
  triggerCallsPerMinute: number;
}
