import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root, from test/dist/support/. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the services they need`);
  return value;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Slipway {
  url: string;
  adminToken: string;
  dataDir: string;
  /** The API process's id (benchmarks read its CPU time). */
  apiPid: number;
  /** Calls `/api/v1` + path as the administrator. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>;
  /** Polls a build until it ends; returns it. */
  waitForBuild(id: string, timeoutMs?: number): Promise<any>;
  waitForStatus(id: string, status: string, timeoutMs?: number): Promise<any>;
  startWorker(): Promise<void>;
  /** SIGKILL, as when a machine dies. */
  killWorker(): Promise<void>;
  stop(): Promise<void>;
  /** The processes' output so far, for failure messages. */
  output(): string;
}

export interface SlipwayOptions {
  env?: Record<string, string>;
  worker?: boolean;
}

/**
 * A real Slipway, as `npm start` runs it: the compiled API and worker as child processes,
 * on the test stack's Redis, Docker engine and registry, with their own data folder,
 * SQLite database, port and queue prefix.
 */
export async function startSlipway(options: SlipwayOptions = {}): Promise<Slipway> {
  const base = process.env["SLIPWAY_TEST_TMP"] ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const id = randomBytes(4).toString("hex");
  const dataDir = join(base, `slipway-${id}`);
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/root",
    SLIPWAY_DATA_DIR: dataDir,
    SLIPWAY_PORT: String(port),
    SLIPWAY_QUEUE_PREFIX: `slipway-e2e-${id}`,
    SLIPWAY_WORK_DIR: join(dataDir, "work"),
    SLIPWAY_LOG_LEVEL: "info",
    REDIS_URL: requireEnv("REDIS_URL"),
    DOCKER_HOST: requireEnv("DOCKER_HOST"),
    SLIPWAY_REGISTRY: requireEnv("SLIPWAY_REGISTRY"),
    ...options.env,
  };
  const logFile = join(dataDir, "processes.log");
  const log = createWriteStream(logFile, { flags: "a" });
  const children: { api?: ChildProcess; worker?: ChildProcess } = {};

  function spawnService(name: "api" | "worker"): ChildProcess {
    const child = spawn(process.execPath, [join(REPO_ROOT, "services", name, "dist", "main.js")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    return child;
  }

  async function api<T>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text !== "") parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async function startWorker(): Promise<void> {
    children.worker = spawnService("worker");
    await waitFor("the worker to be ready", () => (readFileSync(logFile, "utf8").includes("Slipway worker ready") ? true : undefined), 30_000);
  }

  children.api = spawnService("api");
  const ready = await waitFor(
    "the API to be ready",
    async () => {
      if (children.api?.exitCode !== null) throw new Error(`the API exited:\n${readFileSync(logFile, "utf8")}`);
      try {
        const res = await fetch(`${url}/healthz`);
        return res.ok ? true : undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
  );
  void ready;
  const adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  if (options.worker !== false) await startWorker();

  async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async function getBuild(id: string): Promise<any> {
    const res = await api<any>("GET", `/builds/${id}`);
    if (res.status !== 200) throw new Error(`GET /builds/${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  const terminal = new Set(["success", "failed", "canceled", "timed_out", "superseded"]);
  return {
    url,
    adminToken,
    dataDir,
    apiPid: children.api.pid!,
    api,
    waitForBuild: (buildId, timeoutMs = 90_000) =>
      waitFor(`build ${buildId} to end`, async () => {
        const build = await getBuild(buildId);
        return terminal.has(build.status) ? build : undefined;
      }, timeoutMs, 100),
    waitForStatus: (buildId, status, timeoutMs = 60_000) =>
      waitFor(`build ${buildId} to be ${status}`, async () => {
        const build = await getBuild(buildId);
        if (build.status !== status && terminal.has(build.status)) {
          throw new Error(`build ${buildId} ended ${build.status} before reaching ${status}: ${JSON.stringify(build.error)}`);
        }
        return build.status === status ? build : undefined;
      }, timeoutMs, 25),
    startWorker,
    killWorker: () => stopChild(children.worker, "SIGKILL"),
    async stop() {
      await Promise.all([stopChild(children.worker), stopChild(children.api)]);
      log.end();
    },
    output: () => readFileSync(logFile, "utf8"),
  };
}
