export { loadConfig } from "./load-config.js";
export type { Config, Env } from "./load-config.js";
export { createLogger, REDACT_PATHS } from "./create-logger.js";
