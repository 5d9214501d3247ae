import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadRegistryTokenKey } from "@slipway/config";
import { isAlive } from "./managed-process.js";
import { isPortFree, pingRedis, pingRegistry } from "./probes.js";
import { reapLeftovers, startStack } from "./stack.js";

const quiet = (): void => undefined;

function portOf(address: string): number {
  return Number(new URL(address.includes("://") ? address : `http://${address}`).port);
}

describe("startStack (Redis and registry; the engine and PostgreSQL run in every other test)", () => {
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(join(process.env["SLIPWAY_TEST_TMP"] ?? tmpdir(), "stack-"));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("starts Redis and a registry in its data folder, and stop() leaves nothing behind", async () => {
    const dataDir = join(tmp, "own");
    const stack = await startStack({ dataDir, mode: "own", parts: ["redis", "registry"], ports: { redis: 0, registry: 0 }, handleSignals: false, log: quiet });
    const { REDIS_URL: redisUrl, SLIPWAY_REGISTRY: registry } = stack.env;
    assert.ok(redisUrl !== undefined && registry !== undefined);
    assert.match(redisUrl, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.match(registry, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(stack.processes.map((p) => p.name).sort(), ["redis", "registry"]);
    assert.ok(stack.processes.every((p) => isAlive(p.pid)));
    assert.ok(await pingRedis(redisUrl));
    assert.ok(await pingRegistry(registry));
    assert.match(await readFile(join(dataDir, "registry.yml"), "utf8"), new RegExp(`rootdirectory: "${join(dataDir, "registry")}"`));

    await stack.stop();
    await stack.stop(); // a second call is harmless
    assert.ok(stack.processes.every((p) => !isAlive(p.pid)), "every started process has exited");
    assert.ok(await isPortFree(portOf(redisUrl)));
    assert.ok(await isPortFree(portOf(registry)));
  });

  it("starts a registry that asks for Slipway's tokens when given registryAuth, its secrets kept private", async () => {
    const dataDir = join(tmp, "auth");
    const realm = "http://127.0.0.1:1/v2/token";
    const registryAuth = {
      realm,
      issuer: "slipway",
      service: "slipway-registry",
      certificatePath: loadRegistryTokenKey(dataDir).certificatePath,
      events: { url: "http://127.0.0.1:1/registry/events", secret: "events-secret" },
    };
    const stack = await startStack({ dataDir, mode: "own", parts: ["registry"], ports: { registry: 0 }, registryAuth, handleSignals: false, log: quiet });
    try {
      const res = await fetch(`http://${stack.env["SLIPWAY_REGISTRY"] ?? ""}/v2/`);
      await res.arrayBuffer();
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), `Bearer realm="${realm}",service="slipway-registry"`);
      const config = join(dataDir, "registry.yml");
      assert.equal((await stat(config)).mode & 0o777, 0o600);
      const httpSecret = (await readFile(join(dataDir, "registry-http-secret"), "utf8")).trim();
      assert.match(await readFile(config, "utf8"), new RegExp(`secret: "${httpSecret}"`));
      // At info, the registry would log the events secret with its endpoint's headers.
      assert.doesNotMatch(await readFile(join(dataDir, "logs", "registry.log"), "utf8"), /events-secret/);
    } finally {
      await stack.stop();
    }
  });

  it("reuses what REDIS_URL and SLIPWAY_REGISTRY name when they answer, and starts nothing", async () => {
    const first = await startStack({ dataDir: join(tmp, "first"), mode: "own", parts: ["redis", "registry"], ports: { redis: 0, registry: 0 }, handleSignals: false, log: quiet });
    try {
      const lines: string[] = [];
      const second = await startStack({
        dataDir: join(tmp, "second"),
        mode: "reuse",
        parts: ["redis", "registry"],
        env: { REDIS_URL: first.env["REDIS_URL"], SLIPWAY_REGISTRY: first.env["SLIPWAY_REGISTRY"], PATH: process.env["PATH"] },
        registryAuth: { realm: "http://x/v2/token", issuer: "slipway", service: "slipway-registry", certificatePath: "/nonexistent", events: { url: "http://x/registry/events", secret: "s" } },
        handleSignals: false,
        log: (line) => lines.push(line),
      });
      assert.deepEqual(second.processes, []);
      assert.deepEqual(second.env, first.env);
      assert.ok(lines.some((line) => /^registry: using .* as it is configured/.test(line)), lines.join("\n"));
      await second.stop();
      assert.ok(first.processes.every((p) => isAlive(p.pid)), "stopping a stack that reused parts leaves them running");
    } finally {
      await first.stop();
    }
  });

  it("refuses a data folder whose processes another running launcher owns", async () => {
    const dataDir = join(tmp, "shared");
    const first = await startStack({ dataDir, mode: "own", parts: ["redis"], ports: { redis: 0 }, handleSignals: false, log: quiet });
    try {
      await assert.rejects(
        startStack({ dataDir, mode: "own", parts: ["redis"], ports: { redis: 0 }, handleSignals: false, log: quiet }),
        /one launcher per data folder/,
      );
      assert.ok(first.processes.every((p) => isAlive(p.pid)), "the first stack is left alone");
    } finally {
      await first.stop();
    }
  });

  it("fails, naming the variable, when a configured Redis does not answer", async () => {
    const port = await (async () => {
      const s = await startStack({ dataDir: join(tmp, "dead"), mode: "own", parts: ["redis"], ports: { redis: 0 }, handleSignals: false, log: quiet });
      await s.stop();
      return portOf(s.env["REDIS_URL"] ?? "");
    })();
    await assert.rejects(
      startStack({ dataDir: join(tmp, "dead2"), mode: "reuse", parts: ["redis"], env: { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`, PATH: process.env["PATH"] }, handleSignals: false, log: quiet }),
      (err: Error) => {
        assert.match(err.message, /REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? does not answer PING/);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      },
    );
  });

  it("ends what a launcher killed outright left running, on the next start in that folder", async () => {
    const dataDir = join(tmp, "orphan");
    const stackModule = join(fileURLToPath(new URL(".", import.meta.url)), "stack.js");
    const script = `
      import { startStack } from ${JSON.stringify(stackModule)};
      const s = await startStack({ dataDir: ${JSON.stringify(dataDir)}, mode: "own", parts: ["redis"], ports: { redis: 0 }, log: () => {} });
      console.log(JSON.stringify(s.processes));
      setInterval(() => {}, 1000);`;
    const launcher = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const firstLine = await new Promise<string>((resolve) => createInterface({ input: launcher.stdout }).once("line", resolve));
    const [redis] = JSON.parse(firstLine) as { name: string; pid: number }[];
    assert.ok(redis !== undefined);
    launcher.kill("SIGKILL");
    await new Promise((resolve) => launcher.once("exit", resolve));
    assert.ok(isAlive(redis.pid), "redis outlives a launcher killed with SIGKILL");

    assert.deepEqual(await reapLeftovers(dataDir), [redis.pid]);
    assert.ok(!isAlive(redis.pid));
    assert.deepEqual(await reapLeftovers(dataDir), [], "nothing twice");
  });
});
