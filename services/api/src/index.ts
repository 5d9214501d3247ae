export { createApp } from "./app.js";
export type { AppDeps } from "./app.js";
export { createLogger, REDACT_PATHS } from "./logger.js";
export { pingDocker } from "./docker-ping.js";
