/**
 * `npm start`: Redis, a Docker engine and a registry (each reused when already reachable),
 * then the API with its dashboard and a worker. Ctrl-C stops the services, then exactly
 * what this started.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { loadConfig, loadRegistryTokenKey, type Config } from "@slipway/config";
import { REGISTRY_TOKEN_ISSUER, REGISTRY_TOKEN_SERVICE } from "@slipway/core";
import { spawnManaged, type ManagedProcess } from "./managed-process.js";
import type { RegistryAuthOptions } from "./registry-config.js";
import { startStack, type Stack } from "./stack.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SERVICES = [
  { name: "api", main: "services/api/dist/main.js" },
  { name: "worker", main: "services/worker/dist/main.js" },
] as const;

function say(line: string): void {
  console.log(`slipway: ${line}`);
}

/** Where processes on this machine reach the API: its listening address, loopback when it listens on all. */
function localApiUrl(config: Config): string {
  const host = ["0.0.0.0", "::", ""].includes(config.host) ? "127.0.0.1" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

/**
 * The registry npm start runs asks Slipway for tokens and reports pushes to it. The realm is the
 * public URL: the Docker engine fetches tokens there, and it may run on another machine.
 */
function registryAuthOf(config: Config): RegistryAuthOptions {
  return {
    realm: `${config.publicUrl}/v2/token`,
    issuer: REGISTRY_TOKEN_ISSUER,
    service: REGISTRY_TOKEN_SERVICE,
    // Made now if missing, before the registry (which reads it once, at start) and the services.
    certificatePath: loadRegistryTokenKey(config.dataDir).certificatePath,
    events: { url: `${localApiUrl(config)}/registry/events`, secret: config.registryEventsSecret },
  };
}

async function waitForApi(config: Config, api: ManagedProcess): Promise<boolean> {
  const url = `${localApiUrl(config)}/healthz`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && api.isRunning()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch (err) {
      // Not listening yet: ask again.
      if (!(err instanceof TypeError) && (err as Error).name !== "TimeoutError") throw err;
    }
    await sleep(250);
  }
  return false;
}

async function main(): Promise<void> {
  let config: Config;
  let registryAuth: RegistryAuthOptions;
  try {
    // Creates admin-token, secret-key, the registry token key… (mode 0600) in the data folder when missing, as the API would.
    config = loadConfig(process.env);
    registryAuth = registryAuthOf(config);
  } catch (err) {
    console.error(`slipway: configuration: ${(err as Error).message}`);
    process.exit(1);
  }
  const missing = SERVICES.filter((s) => !existsSync(join(repoRoot, s.main)));
  if (missing.length > 0) {
    console.error(`slipway: ${missing.map((s) => s.main).join(", ")} missing: the services are not built (npx tsc -b)`);
    process.exit(1);
  }

  const controller = new AbortController();
  const services: ManagedProcess[] = [];
  let stack: Stack | undefined;
  let stopping: Promise<never> | undefined;
  const shutdown = (code: number): Promise<never> => {
    stopping ??= (async () => {
      controller.abort();
      await Promise.all(services.map((s) => s.stop(10_000)));
      await stack?.stop();
      say("stopped");
      process.exit(code);
    })();
    return stopping;
  };
  process.on("SIGINT", () => {
    if (stopping === undefined) say("stopping…");
    void shutdown(0);
  });
  process.on("SIGTERM", () => void shutdown(0));

  try {
    stack = await startStack({
      dataDir: config.dataDir,
      mode: "reuse",
      ports: { redis: 6379, registry: 5000 },
      registryAuth,
      signal: controller.signal,
      handleSignals: false,
      log: (line) => say(line),
    });
  } catch (err) {
    if (stopping !== undefined) return;
    console.error(`slipway: ${(err as Error).message}`);
    await shutdown(1);
    return;
  }

  const env = { ...process.env, ...stack.env, SLIPWAY_DATA_DIR: config.dataDir };
  for (const service of SERVICES) {
    const proc = await spawnManaged({
      name: service.name,
      command: process.execPath,
      args: [join(repoRoot, service.main)],
      cwd: repoRoot,
      env,
      onLine: (line) => console.log(`[${service.name}] ${line}`),
      stopTimeoutMs: 10_000,
    });
    services.push(proc);
    void proc.exited.then((status) => {
      if (stopping !== undefined) return;
      console.error(`slipway: ${service.name} exited (${status.signal ?? `code ${status.code}`}); stopping everything`);
      void shutdown(1);
    });
  }

  const api = services[0];
  if (api === undefined || !(await waitForApi(config, api))) {
    if (stopping !== undefined) return;
    say("the API did not answer /healthz within 30 s; its output is above");
  }
  const fromEnv = Boolean(process.env["SLIPWAY_ADMIN_TOKEN"]);
  console.log(
    [
      "",
      `  Slipway is running.`,
      `  dashboard:   ${config.publicUrl}/`,
      `  admin token: ${fromEnv ? "the one in SLIPWAY_ADMIN_TOKEN" : config.adminToken}`,
      ...(fromEnv ? [] : [`               (kept in ${join(config.dataDir, "admin-token")})`]),
      `  registry:    ${stack.env["SLIPWAY_REGISTRY"] ?? ""}`,
      `  Ctrl-C stops it.`,
      "",
    ].join("\n"),
  );
}

await main();
