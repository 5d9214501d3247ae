import { pino, type Logger } from "pino";

/** Every header or field that may hold a secret, wherever it appears in a log line. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-gitlab-token"]',
  'req.headers["x-gitea-signature"]',
  'req.headers["x-gogs-signature"]',
  'req.headers["x-forgejo-signature"]',
  'req.headers["webhook-signature"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  "*.password",
  "*.token",
  "*.registrytoken",
  "*.secret",
  "*.credentials",
  "*.authorization",
  "err.config.headers.authorization",
];

/** The services' logger: JSON lines on stdout, with every secret-bearing field redacted. */
export function createLogger(options: { level: string; name: string }): Logger {
  return pino({ name: options.name, level: options.level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } });
}
