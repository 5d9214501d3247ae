export { loadConfig } from "./load-config.js";
export type { Config, Env } from "./load-config.js";
export { createLogger, REDACT_PATHS } from "./create-logger.js";
export { loadRegistryTokenKey } from "./registry-token-key.js";
export type { RegistryTokenKey } from "./registry-token-key.js";
export { readOrCreateFile } from "./persisted-file.js";
