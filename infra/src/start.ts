/**
 * `npm start`: Redis, a Docker engine and a registry (each reused when already reachable),
 * then the API with its dashboard and a worker. Ctrl-C stops the services, then exactly
 * what this started.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { loadConfig, type Config } from "@slipway/config";
import { spawnManaged, type ManagedProcess } from "./managed-process.js";
import { startStack, type Stack } from "./stack.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SERVICES = [
  { name: "api", main: "services/api/dist/main.js" },
  { name: "worker", main: "services/worker/dist/main.js" },
] as const;

function say(line: string): void {
  console.log(`slipway: ${line}`);
}

async function waitForApi(config: Config, api: ManagedProcess): Promise<boolean> {
  const host = ["0.0.0.0", "::", ""].includes(config.host) ? "127.0.0.1" : config.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${config.port}/healthz`;
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
  try {
    // Creates admin-token and secret-key (mode 0600) in the data folder when missing, as the API would.
    config = loadConfig(process.env);
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
