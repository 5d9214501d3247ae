import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REGISTRY_TOKEN_ISSUER, REGISTRY_TOKEN_SERVICE } from "@slipway/core";
import { findBinary, registryConfigYaml } from "@slipway/infra";
import { freePort, waitFor } from "./slipway.js";

export interface HubRegistryOptions {
  /** The registry token key's certificate (loadRegistryTokenKey(…).certificatePath). */
  certificatePath: string;
  /** The token endpoint the registry names in its challenge. */
  realm: string;
  /** Where it POSTs its push events. */
  eventsUrl?: string;
  eventsSecret?: string;
  /** Default: a free one. Given when Slipway must be told the address before the registry can start. */
  port?: number;
}

export interface HubRegistry {
  /** 127.0.0.1:<port>. */
  address: string;
  /** Its output (at info: a refused token's reason is there), until close() removes it. */
  logFile: string;
  /** Stops it and removes its storage. */
  close(): Promise<void>;
}

/**
 * A registry of its own, configured as `npm start` configures Slipway's (token authentication,
 * push events), for tests that need one that is not open: the test stack's shared registry is.
 */
export async function startHubRegistry(options: HubRegistryOptions): Promise<HubRegistry> {
  const binary = findBinary("docker-registry") ?? findBinary("registry");
  if (binary === undefined) throw new Error("docker-registry is not installed (Debian: apt-get install docker-registry)");
  const base = process.env["SLIPWAY_TEST_TMP"] ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, "hub-registry-"));
  const address = `127.0.0.1:${options.port ?? (await freePort())}`;
  const configFile = join(dir, "registry.yml");
  const yaml = registryConfigYaml({
    address,
    storageDir: join(dir, "storage"),
    httpSecret: randomBytes(16).toString("hex"),
    auth: {
      realm: options.realm,
      issuer: REGISTRY_TOKEN_ISSUER,
      service: REGISTRY_TOKEN_SERVICE,
      certificatePath: options.certificatePath,
      ...(options.eventsUrl === undefined ? {} : { events: { url: options.eventsUrl, secret: options.eventsSecret ?? "" } }),
    },
    // The secret is a test's: the reasons for refusals are worth more here.
    logLevel: "info",
  });
  writeFileSync(configFile, yaml, { mode: 0o600 });
  const logFile = join(dir, "registry.log");
  const out = openSync(logFile, "a");
  const child = spawn(binary, ["serve", configFile], { stdio: ["ignore", out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      "the hub registry to answer",
      async () => {
        if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${readFileSync(logFile, "utf8")}`);
        try {
          const res = await fetch(`http://${address}/v2/`);
          await res.arrayBuffer();
          return res.status === 401 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { address, logFile, close };
}
