import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { readOrCreateFile } from "@slipway/config";
import { findBinary, findPostgresBinary } from "./find-binary.js";
import { logTail, reapLeftover, spawnManaged, type ManagedProcess } from "./managed-process.js";
import { canConnect, choosePort, pingDocker, pingRedis, pingRegistry, redactUrl, toHttpTarget } from "./probes.js";
import { registryConfigYaml, type RegistryAuthOptions } from "./registry-config.js";

const execFileAsync = promisify(execFile);

export type StackPart = "redis" | "docker" | "registry" | "postgres";
export type Env = Readonly<Record<string, string | undefined>>;

export interface StackOptions {
  /** Absolute, or resolved against the current directory. */
  dataDir: string;
  /**
   * "reuse" (npm start): what REDIS_URL, DOCKER_HOST, SLIPWAY_REGISTRY and
   * SLIPWAY_TEST_POSTGRES_URL name is used when it answers, and the rest is started.
   * "own" (npm test): every part is started here, for isolation; a configured one is used
   * only when the program to start it is missing (a laptop without dockerd).
   */
  mode: "reuse" | "own";
  /** Default: redis, docker, registry. */
  parts?: readonly StackPart[];
  /** Ports to listen on when free (another free port otherwise); 0 asks for any free port. */
  ports?: { redis?: number; registry?: number; postgres?: number };
  /**
   * A registry this stack starts trusts Slipway's tokens and tells Slipway of pushes (npm start).
   * Without it, that registry is open to all (the test stacks). A registry reused as it runs is left as it is.
   */
  registryAuth?: RegistryAuthOptions;
  /** Where REDIS_URL and the others are read; default process.env. */
  env?: Env;
  /** Aborting stops what was started so far and rejects. */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM and exit (default true). Launchers with more to stop handle signals themselves. */
  handleSignals?: boolean;
  log?: (line: string) => void;
}

export interface Stack {
  /** REDIS_URL, DOCKER_HOST, SLIPWAY_REGISTRY, and SLIPWAY_TEST_POSTGRES_URL when asked for. */
  readonly env: Readonly<Record<string, string>>;
  /** The processes this stack started (not the ones it reused). */
  readonly processes: readonly { name: string; pid: number }[];
  /** Stops exactly the processes above; safe to call more than once. */
  stop(): Promise<void>;
}

interface Context {
  dataDir: string;
  mode: "reuse" | "own";
  env: Env;
  ports: NonNullable<StackOptions["ports"]>;
  registryAuth: RegistryAuthOptions | undefined;
  signal: AbortSignal | undefined;
  log: (line: string) => void;
  started: ManagedProcess[];
}

const DEFAULT_PORTS = { redis: 6379, registry: 5000, postgres: 5432 } as const;

export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const ctx: Context = {
    dataDir,
    mode: options.mode,
    env: options.env ?? process.env,
    ports: options.ports ?? {},
    registryAuth: options.registryAuth,
    signal: options.signal,
    log: options.log ?? ((line) => console.log(`stack: ${line}`)),
    started: [],
  };
  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    ctx.log(`${signal}: stopping`);
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await Promise.all(ctx.started.map((p) => p.stop()));
    })();
    return stopping;
  };
  if (options.handleSignals !== false) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }

  const starters: Record<StackPart, (ctx: Context) => Promise<Record<string, string>>> = {
    redis: startRedis,
    docker: startDocker,
    registry: startRegistry,
    postgres: startPostgres,
  };
  const parts = options.parts ?? ["redis", "docker", "registry"];
  // In parallel: dockerd and initdb take seconds each.
  const results = await Promise.allSettled(parts.map((part) => starters[part](ctx)));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure !== undefined) {
    await stop();
    throw failure.reason;
  }
  const env: Record<string, string> = {};
  for (const r of results) if (r.status === "fulfilled") Object.assign(env, r.value);
  return { env, processes: ctx.started.map((p) => ({ name: p.name, pid: p.pid })), stop };
}

/** Ends what an earlier launcher on this data folder started and left running (it was killed outright). */
export async function reapLeftovers(dataDir: string): Promise<number[]> {
  const runDir = join(resolve(dataDir), "run");
  let files: string[];
  try {
    files = readdirSync(runDir).filter((f) => f.endsWith(".pid"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const reaped = await Promise.all(
    files.map((f) => reapLeftover(join(runDir, f), f === "postgres.pid" ? "SIGINT" : "SIGTERM")),
  );
  return reaped.filter((pid): pid is number => pid !== undefined);
}

/**
 * Sockets and containerd's state need short paths (a unix socket path holds at most 107
 * bytes, and dockerd builds longer ones under --exec-root); a data folder deep in a home
 * directory gets a short folder under /tmp (not os.tmpdir(), long on macOS) named after it.
 */
export function runtimeDirOf(dataDir: string): string {
  return `/tmp/slipway-${createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 12)}`;
}

function runtimeDir(dataDir: string): string {
  const dir = runtimeDirOf(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

function pidFile(ctx: Context, name: string): string {
  return join(ctx.dataDir, "run", `${name}.pid`);
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

async function waitUntil(
  ctx: Context,
  what: string,
  proc: ManagedProcess,
  timeoutMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    ctx.signal?.throwIfAborted();
    if (await ready()) return;
    if (!proc.isRunning()) {
      throw new Error(`${what} exited before it was ready (log: ${proc.logFile}):\n${logTail(proc.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not ready after ${timeoutMs / 1000} s (log: ${proc.logFile}):\n${logTail(proc.logFile)}`);
    }
    await sleep(150);
  }
}

async function launch(ctx: Context, options: Parameters<typeof spawnManaged>[0]): Promise<ManagedProcess> {
  ctx.signal?.throwIfAborted();
  const proc = await spawnManaged(options);
  ctx.started.push(proc);
  return proc;
}

/** What an "own" stack does when it cannot start a part: share a configured one that answers, or fail. */
async function shareOrFail(
  ctx: Context,
  what: string,
  why: string,
  candidates: readonly { value: string | undefined; source: string }[],
  probe: (value: string) => Promise<boolean>,
  describe: (value: string) => string = (v) => v,
): Promise<string> {
  for (const { value, source } of candidates) {
    if (value !== undefined && (await probe(value))) {
      ctx.log(`${what}: ${why}; sharing ${describe(value)} (${source})`);
      return value;
    }
  }
  const names = candidates.map((c) => c.source).join(" or ");
  throw new Error(`${what}: ${why}, and nothing answers at ${names}`);
}

// ---------------------------------------------------------------------------------------- Redis

async function startRedis(ctx: Context): Promise<Record<string, string>> {
  const configured = ctx.env["REDIS_URL"] || undefined;
  const binary = findBinary("redis-server", ctx.env);
  if (ctx.mode === "reuse" && configured !== undefined) {
    if (await pingRedis(configured)) {
      ctx.log(`redis: using ${redactUrl(configured)} (REDIS_URL)`);
      return { REDIS_URL: configured };
    }
    throw new Error(`redis: REDIS_URL=${redactUrl(configured)} does not answer PING; start it, or unset REDIS_URL to have one started`);
  }
  if (binary === undefined) {
    const why = "redis-server is not installed (Debian: apt-get install redis-server)";
    if (ctx.mode === "reuse") throw new Error(`redis: ${why}; or set REDIS_URL`);
    const url = await shareOrFail(ctx, "redis", why, [{ value: configured, source: "REDIS_URL" }], pingRedis, redactUrl);
    return { REDIS_URL: url };
  }

  await reapLeftover(pidFile(ctx, "redis"));
  const port = await choosePort(ctx.ports.redis ?? DEFAULT_PORTS.redis);
  const dir = join(ctx.dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const proc = await launch(ctx, {
    name: "redis",
    command: binary,
    args: [
      "--bind", "127.0.0.1",
      "--port", String(port),
      "--dir", dir,
      "--appendonly", "yes",
      // BullMQ needs every key kept: evicting one loses a job.
      "--maxmemory-policy", "noeviction",
      // The append-only file is the persistence; no RDB snapshots besides.
      "--save", "",
      "--daemonize", "no",
    ],
    logFile: join(ctx.dataDir, "logs", "redis.log"),
    pidFile: pidFile(ctx, "redis"),
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitUntil(ctx, "redis-server", proc, 20_000, () => pingRedis(url));
  ctx.log(`redis: started on 127.0.0.1:${port} (pid ${proc.pid})`);
  return { REDIS_URL: url };
}

// -------------------------------------------------------------------------------- Docker engine

/** Where Docker puts its socket: Linux, rootless, Docker Desktop. */
function defaultDockerHosts(env: Env): string[] {
  const home = env["HOME"] ?? homedir();
  return [
    "unix:///var/run/docker.sock",
    ...(env["XDG_RUNTIME_DIR"] ? [`unix://${env["XDG_RUNTIME_DIR"]}/docker.sock`] : []),
    `unix://${home}/.docker/run/docker.sock`,
    `unix://${home}/.docker/desktop/docker.sock`,
  ];
}

/** An ssh:// engine cannot be pinged with plain HTTP: it is taken as given. */
async function answersOrUncheckable(dockerHost: string): Promise<boolean> {
  return toHttpTarget(dockerHost) === undefined || (await pingDocker(dockerHost));
}

async function startDocker(ctx: Context): Promise<Record<string, string>> {
  const configured = ctx.env["DOCKER_HOST"] || undefined;
  const binary = findBinary("dockerd", ctx.env);
  if (ctx.mode === "reuse") {
    if (configured !== undefined) {
      if (await answersOrUncheckable(configured)) {
        ctx.log(`docker: using ${configured} (DOCKER_HOST)`);
        return { DOCKER_HOST: configured };
      }
      throw new Error(`docker: DOCKER_HOST=${configured} does not answer GET /_ping; start that engine, or unset DOCKER_HOST`);
    }
    for (const host of defaultDockerHosts(ctx.env)) {
      if (await pingDocker(host)) {
        ctx.log(`docker: using the engine at ${host}`);
        return { DOCKER_HOST: host };
      }
    }
  }
  if (binary === undefined || !isRoot()) {
    const why =
      binary === undefined
        ? "dockerd is not installed (Debian: apt-get install docker.io)"
        : "starting dockerd needs root";
    const candidates = [
      { value: configured, source: "DOCKER_HOST" },
      ...defaultDockerHosts(ctx.env).map((h) => ({ value: h, source: h })),
    ];
    if (ctx.mode === "reuse") throw new Error(`docker: no engine answers (DOCKER_HOST or ${defaultDockerHosts(ctx.env)[0]}) and ${why}`);
    return { DOCKER_HOST: await shareOrFail(ctx, "docker", why, candidates, answersOrUncheckable) };
  }

  await reapLeftover(pidFile(ctx, "dockerd"));
  const dataRoot = join(ctx.dataDir, "docker");
  const execRootHere = join(ctx.dataDir, "docker-exec");
  // dockerd puts containerd's socket (+33 bytes) and libnetwork's (+28) under the exec root.
  const execRoot = execRootHere.length <= 60 ? execRootHere : join(runtimeDir(ctx.dataDir), "docker-exec");
  const socketHere = join(ctx.dataDir, "docker.sock");
  const socket = socketHere.length <= 100 ? socketHere : join(runtimeDir(ctx.dataDir), "docker.sock");
  // An empty daemon.json of its own: /etc/docker/daemon.json (hosts, data-root…) is the host engine's.
  const configFile = join(ctx.dataDir, "docker-daemon.json");
  writeFileSync(configFile, "{}\n");
  const proc = await launch(ctx, {
    name: "dockerd",
    command: binary,
    args: [
      "--config-file", configFile,
      "--data-root", dataRoot,
      "--exec-root", execRoot,
      "--host", `unix://${socket}`,
      "--pidfile", join(ctx.dataDir, "docker.pid"),
      // No bridge: builds and containers run with network "none", so nothing in them
      // reaches the host's loopback services; no iptables rules on the host either.
      "--bridge=none",
      "--iptables=false",
      "--ip-masq=false",
    ],
    // containerd and runc are in sbin on Debian; a non-login root shell may lack it.
    env: { ...process.env, PATH: `${ctx.env["PATH"] ?? ""}:/usr/local/sbin:/usr/sbin:/sbin` },
    logFile: join(ctx.dataDir, "logs", "dockerd.log"),
    pidFile: pidFile(ctx, "dockerd"),
    // It stops its containers and containerd first.
    stopTimeoutMs: 40_000,
  });
  const host = `unix://${socket}`;
  await waitUntil(ctx, "dockerd", proc, 60_000, () => pingDocker(host));
  ctx.log(`docker: started dockerd at ${host} (pid ${proc.pid})`);
  return { DOCKER_HOST: host };
}

// ------------------------------------------------------------------------------------- Registry

/** The port of a loopback `host:port`, undefined for anything else. */
function loopbackPort(address: string): number | undefined {
  const { hostname, port } = new URL(`http://${address}`);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(hostname) || port === "") return undefined;
  return Number(port);
}

async function startRegistry(ctx: Context): Promise<Record<string, string>> {
  const configured = ctx.env["SLIPWAY_REGISTRY"] || undefined;
  const binary = findBinary("docker-registry", ctx.env) ?? findBinary("registry", ctx.env);
  let port: number;
  if (ctx.mode === "reuse") {
    const target = configured ?? `127.0.0.1:${DEFAULT_PORTS.registry}`;
    if (await pingRegistry(target)) {
      // Its configuration is its owner's: Slipway's token service and push events only work if it names them.
      const asItIs = ctx.registryAuth === undefined ? "" : ", as it is configured (token authentication and push events are set up only on a registry Slipway starts)";
      ctx.log(`registry: using ${target}${configured === undefined ? "" : " (SLIPWAY_REGISTRY)"}${asItIs}`);
      return { SLIPWAY_REGISTRY: target };
    }
    const wanted = loopbackPort(target);
    if (configured !== undefined && wanted === undefined) {
      throw new Error(`registry: SLIPWAY_REGISTRY=${configured} does not answer GET /v2/; start it, or unset SLIPWAY_REGISTRY`);
    }
    if (binary === undefined) {
      throw new Error(`registry: nothing answers at ${target} and docker-registry is not installed (Debian: apt-get install docker-registry)`);
    }
    // A configured loopback address is where the user wants it; the default moves when taken.
    port = configured !== undefined && wanted !== undefined ? wanted : await choosePort(ctx.ports.registry ?? DEFAULT_PORTS.registry);
  } else {
    if (binary === undefined) {
      const why = "docker-registry is not installed (Debian: apt-get install docker-registry)";
      const address = await shareOrFail(ctx, "registry", why, [{ value: configured, source: "SLIPWAY_REGISTRY" }], pingRegistry);
      return { SLIPWAY_REGISTRY: address };
    }
    port = await choosePort(ctx.ports.registry ?? DEFAULT_PORTS.registry);
  }

  await reapLeftover(pidFile(ctx, "registry"));
  const storage = join(ctx.dataDir, "registry");
  mkdirSync(storage, { recursive: true });
  const address = `127.0.0.1:${port}`;
  const configFile = join(ctx.dataDir, "registry.yml");
  // Kept across restarts: an upload in progress stays valid when the registry restarts.
  const httpSecret = readOrCreateFile(join(ctx.dataDir, "registry-http-secret"), () => `${randomBytes(32).toString("base64url")}\n`).trim();
  const yaml = registryConfigYaml({ address, storageDir: storage, httpSecret, ...(ctx.registryAuth === undefined ? {} : { auth: ctx.registryAuth }) });
  // It holds secrets (the events secret, the HTTP secret): the owner's alone, also when it was written before.
  writeFileSync(configFile, yaml, { mode: 0o600 });
  chmodSync(configFile, 0o600);
  const proc = await launch(ctx, {
    name: "registry",
    command: binary,
    args: ["serve", configFile],
    logFile: join(ctx.dataDir, "logs", "registry.log"),
    pidFile: pidFile(ctx, "registry"),
  });
  await waitUntil(ctx, "docker-registry", proc, 20_000, () => pingRegistry(address));
  const trusting = ctx.registryAuth === undefined ? "" : `, trusting tokens from ${ctx.registryAuth.realm}`;
  ctx.log(`registry: started on ${address} (pid ${proc.pid})${trusting}`);
  return { SLIPWAY_REGISTRY: address };
}

// ----------------------------------------------------------------------------------- PostgreSQL

interface PostgresUser {
  uid: number;
  gid: number;
}

function lookupUser(name: string): PostgresUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** Whether `user` may walk down to `dir` (every folder on the way grants it search permission). */
function canReach(dir: string, user: PostgresUser): boolean {
  for (let d = dir; ; d = dirname(d)) {
    const st = statSync(d);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

async function startPostgres(ctx: Context): Promise<Record<string, string>> {
  const configured = ctx.env["SLIPWAY_TEST_POSTGRES_URL"] || undefined;
  const postgres = findPostgresBinary("postgres", ctx.env);
  const initdb = findPostgresBinary("initdb", ctx.env);
  const probe = async (url: string): Promise<boolean> => {
    const { hostname, port } = new URL(url);
    return canConnect(hostname, Number(port || 5432));
  };
  if (ctx.mode === "reuse" && configured !== undefined) {
    if (await probe(configured)) {
      ctx.log(`postgres: using ${redactUrl(configured)} (SLIPWAY_TEST_POSTGRES_URL)`);
      return { SLIPWAY_TEST_POSTGRES_URL: configured };
    }
    throw new Error(`postgres: SLIPWAY_TEST_POSTGRES_URL=${redactUrl(configured)} does not answer`);
  }
  if (postgres === undefined || initdb === undefined) {
    const why = "PostgreSQL is not installed (Debian: apt-get install postgresql)";
    const candidates = [{ value: configured, source: "SLIPWAY_TEST_POSTGRES_URL" }];
    const url = await shareOrFail(ctx, "postgres", why, candidates, probe, redactUrl);
    return { SLIPWAY_TEST_POSTGRES_URL: url };
  }

  await reapLeftover(pidFile(ctx, "postgres"), "SIGINT");
  // initdb and postgres refuse to run as root: as root, they run as the postgres user.
  let user: PostgresUser | undefined;
  let dir = join(ctx.dataDir, "postgres");
  if (isRoot()) {
    user = lookupUser("postgres");
    if (user === undefined) throw new Error("postgres: running as root needs a 'postgres' user to run PostgreSQL as (Debian's postgresql package creates it)");
    // A data folder under /root (mode 0700) is out of that user's reach: use the short folder in /tmp.
    if (!canReach(ctx.dataDir, user)) dir = join(runtimeDir(ctx.dataDir), "postgres");
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const logDir = join(ctx.dataDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const asUser = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  // The server runs in C locale; LANG of the caller may name one the machine lacks.
  const pgEnv = { ...process.env, LC_ALL: "C", LANG: "C" };

  if (!existsSync(join(dir, "PG_VERSION"))) {
    try {
      const { stdout, stderr } = await execFileAsync(
        initdb,
        ["-D", dir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
        { ...asUser, cwd: dir, env: pgEnv },
      );
      writeFileSync(join(logDir, "postgres-init.log"), stdout + stderr);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      writeFileSync(join(logDir, "postgres-init.log"), `${e.stdout ?? ""}${e.stderr ?? ""}`);
      throw new Error(`postgres: initdb failed: ${e.message}\n${e.stderr ?? ""}`);
    }
  }

  const port = await choosePort(ctx.ports.postgres ?? DEFAULT_PORTS.postgres);
  const proc = await launch(ctx, {
    name: "postgres",
    command: postgres,
    args: [
      "-D", dir,
      "-p", String(port),
      // TCP only: no unix socket, so no socket folder that must be short and the postgres user's.
      "-k", "",
      "-c", "listen_addresses=127.0.0.1",
      // Test data: speed over durability.
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
      "-c", "max_connections=200",
    ],
    ...asUser,
    cwd: dir,
    env: pgEnv,
    logFile: join(logDir, "postgres.log"),
    pidFile: pidFile(ctx, "postgres"),
    stopSignal: "SIGINT",
  });
  const isReady = findPostgresBinary("pg_isready", ctx.env);
  const ready = async (): Promise<boolean> => {
    if (isReady === undefined) return canConnect("127.0.0.1", port);
    try {
      await execFileAsync(isReady, ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]);
      return true;
    } catch (err) {
      // Exit 1 (rejecting: starting up) and 2 (no answer yet) both mean "not yet".
      return (err as { code?: unknown }).code === 0;
    }
  };
  await waitUntil(ctx, "postgres", proc, 30_000, ready);
  ctx.log(`postgres: started on 127.0.0.1:${port} (pid ${proc.pid})`);
  return { SLIPWAY_TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${port}/postgres` };
}
