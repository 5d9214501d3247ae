import type { SecretBox } from "@slipway/core";
import type { BuildEventBus, BuildQueue } from "@slipway/queue";
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
  /** Operator settings the routes honour (e.g. whether webhooks may target private addresses). */
  env: Readonly<Record<string, string | undefined>>;
}
