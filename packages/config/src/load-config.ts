import { randomBytes } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { readOrCreateFile } from "./persisted-file.js";

/** Slipway's configuration (CONTRACT §2). Read from an `env` argument so tests never touch process.env. */
export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string;
  redisUrl: string;
  /** Undefined: dockerode's default (DOCKER_HOST unset → /var/run/docker.sock). */
  dockerHost: string | undefined;
  registry: string;
  adminToken: string;
  secretKey: string;
  /**
   * What the registry sends as `Authorization: Bearer …` with its push notifications
   * (SLIPWAY_REGISTRY_EVENTS_SECRET; generated and kept in the data folder otherwise).
   */
  registryEventsSecret: string;
  workerConcurrency: number;
  /** Prefix of every Redis key and channel, so several installs (or tests) share one Redis. */
  queuePrefix: string;
  logLevel: string;
  /** How long a worker holds a build before another may pick it up (BullMQ lock). */
  jobLockMs: number;
  /** Attempts at a push before the build fails (registry outages are retried with backoff). */
  pushAttempts: number;
  /** Longest a build may run before it ends `timed_out`. */
  buildTimeoutMs: number;
  /**
   * How long after its last build an image Slipway built is kept on the build engine once no tag
   * holds it (SLIPWAY_IMAGE_RETENTION_MS; 0: for ever).
   */
  imageRetentionMs: number;
  /** The network build steps run on (`none` cuts them off); undefined: the engine's default. */
  buildNetwork: string | undefined;
  /** Where workers clone sources; each worker process uses a folder of its own inside. */
  workDir: string;
  /**
   * The image build hooks run in (SLIPWAY_HOOK_IMAGE): one with `sh` and `docker`; undefined: one the
   * worker makes from its machine's busybox, docker CLI and git.
   */
  hookImage: string | undefined;
  /** Outgoing webhooks may target private, loopback and link-local addresses (SLIPWAY_WEBHOOK_ALLOW_PRIVATE=true). */
  webhookAllowPrivate: boolean;
  /** First wait between webhook delivery attempts; doubles each time (SLIPWAY_WEBHOOK_BACKOFF_MS). */
  webhookBackoffMs: number;
  /** Calls a minute each trigger URL takes, across API processes (SLIPWAY_TRIGGER_RATE_LIMIT). */
  triggerRateLimit: number;
  /** log2 of scrypt's N for new password hashes (SLIPWAY_PASSWORD_COST): 17, OWASP's, by default. */
  passwordCost: number;
  /**
   * Which proxies' X-Forwarded-For to believe for the client's address (SLIPWAY_TRUST_PROXY), as
   * express's `trust proxy` takes it: addresses and subnets, `loopback`, `uniquelocal`, a number of
   * hops, or `true` (any: only when nothing else can reach the API). False: none, the socket's address.
   */
  trustProxy: boolean | number | string;
}

export type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  }
  return value;
}

/**
 * A secret kept in the data folder (mode 0600), generated on first start, unless the
 * environment gives it. Several processes may start at once: they all get the first one written.
 */
function persistedSecret(env: Env, name: string, dataDir: string, file: string): string {
  const given = env[name];
  if (given !== undefined && given !== "") return given;
  return readOrCreateFile(join(dataDir, file), () => `${randomBytes(32).toString("base64url")}\n`).trim();
}

/** SLIPWAY_TRUST_PROXY as express's `trust proxy` setting: "true"/"false", a hop count, or addresses. */
function trustProxy(raw: string | undefined): boolean | number | string {
  const value = raw?.trim() ?? "";
  if (value === "" || value.toLowerCase() === "false") return false;
  if (value.toLowerCase() === "true") return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

export function loadConfig(env: Env, overrides: Partial<Config> = {}): Config {
  const cwd = env["SLIPWAY_CWD"] ?? process.cwd();
  const dataDirRaw = env["SLIPWAY_DATA_DIR"] || "./.slipway";
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  const port = integer(env, "SLIPWAY_PORT", 8080, 0);
  const host = env["SLIPWAY_HOST"] || "127.0.0.1";
  const config: Config = {
    host,
    port,
    publicUrl: (env["SLIPWAY_PUBLIC_URL"] || `http://127.0.0.1:${port}`).replace(/\/+$/, ""),
    dataDir,
    databaseUrl: env["DATABASE_URL"] || join(dataDir, "slipway.db"),
    redisUrl: env["REDIS_URL"] || "redis://127.0.0.1:6379",
    dockerHost: env["DOCKER_HOST"] || undefined,
    registry: env["SLIPWAY_REGISTRY"] || "127.0.0.1:5000",
    adminToken: "",
    secretKey: "",
    registryEventsSecret: "",
    workerConcurrency: integer(env, "SLIPWAY_WORKER_CONCURRENCY", 2, 1),
    queuePrefix: env["SLIPWAY_QUEUE_PREFIX"] || "slipway",
    logLevel: env["SLIPWAY_LOG_LEVEL"] || "info",
    jobLockMs: integer(env, "SLIPWAY_JOB_LOCK_MS", 30_000, 1_000),
    pushAttempts: integer(env, "SLIPWAY_PUSH_ATTEMPTS", 4, 1),
    buildTimeoutMs: integer(env, "SLIPWAY_BUILD_TIMEOUT_MS", 60 * 60_000, 1_000),
    imageRetentionMs: integer(env, "SLIPWAY_IMAGE_RETENTION_MS", 24 * 60 * 60_000, 0),
    buildNetwork: env["SLIPWAY_BUILD_NETWORK"] || undefined,
    workDir: env["SLIPWAY_WORK_DIR"] || join(dataDir, "work"),
    hookImage: env["SLIPWAY_HOOK_IMAGE"] || undefined,
    passwordCost: integer(env, "SLIPWAY_PASSWORD_COST", 17, 12),
    webhookAllowPrivate: env["SLIPWAY_WEBHOOK_ALLOW_PRIVATE"] === "true",
    webhookBackoffMs: integer(env, "SLIPWAY_WEBHOOK_BACKOFF_MS", 20_000, 1),
    triggerRateLimit: integer(env, "SLIPWAY_TRIGGER_RATE_LIMIT", 10, 1),
    trustProxy: trustProxy(env["SLIPWAY_TRUST_PROXY"]),
    ...overrides,
  };
  if (!overrides.adminToken) {
    config.adminToken = persistedSecret(env, "SLIPWAY_ADMIN_TOKEN", config.dataDir, "admin-token");
  }
  if (!overrides.secretKey) {
    config.secretKey = persistedSecret(env, "SLIPWAY_SECRET_KEY", config.dataDir, "secret-key");
  }
  if (!overrides.registryEventsSecret) {
    config.registryEventsSecret = persistedSecret(env, "SLIPWAY_REGISTRY_EVENTS_SECRET", config.dataDir, "registry-events-secret");
  }
  return config;
}
