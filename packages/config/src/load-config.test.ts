import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "./load-config.js";

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "slipway-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("applies the contract's defaults", () => {
    const config = loadConfig({ SLIPWAY_DATA_DIR: join(dir, "a") });
    assert.equal(config.port, 8080);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.publicUrl, "http://127.0.0.1:8080");
    assert.equal(config.registry, "127.0.0.1:5000");
    assert.equal(config.redisUrl, "redis://127.0.0.1:6379");
    assert.equal(config.databaseUrl, join(dir, "a", "slipway.db"));
    assert.equal(config.workerConcurrency, 2);
    assert.equal(config.dockerHost, undefined);
  });

  it("generates the admin token and secret key once, mode 0600, and keeps them", () => {
    const env = { SLIPWAY_DATA_DIR: join(dir, "b") };
    const first = loadConfig(env);
    const second = loadConfig(env);
    assert.equal(first.adminToken, second.adminToken);
    assert.equal(first.secretKey, second.secretKey);
    assert.equal(first.registryEventsSecret, second.registryEventsSecret);
    assert.notEqual(first.registryEventsSecret, first.secretKey);
    assert.equal(statSync(join(dir, "b", "registry-events-secret")).mode & 0o777, 0o600);
    assert.notEqual(first.adminToken, first.secretKey);
    assert.ok(first.adminToken.length >= 43);
    const file = join(dir, "b", "admin-token");
    assert.equal(readFileSync(file, "utf8").trim(), first.adminToken);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it("prefers the environment, then overrides", () => {
    const config = loadConfig(
      {
        SLIPWAY_DATA_DIR: join(dir, "c"),
        SLIPWAY_PORT: "9090",
        SLIPWAY_ADMIN_TOKEN: "from-env",
        SLIPWAY_REGISTRY_EVENTS_SECRET: "events-from-env",
        DATABASE_URL: "postgres://db/slipway",
      },
      { registry: "registry.example:5000" },
    );
    assert.equal(config.port, 9090);
    assert.equal(config.publicUrl, "http://127.0.0.1:9090");
    assert.equal(config.adminToken, "from-env");
    assert.equal(config.registryEventsSecret, "events-from-env");
    assert.equal(config.databaseUrl, "postgres://db/slipway");
    assert.equal(config.registry, "registry.example:5000");
  });

  it("reads SLIPWAY_TRUST_PROXY as express's trust proxy setting: none by default", () => {
    const trust = (value: string | undefined) => loadConfig({ SLIPWAY_DATA_DIR: join(dir, "d"), ...(value === undefined ? {} : { SLIPWAY_TRUST_PROXY: value }) }).trustProxy;
    assert.equal(trust(undefined), false);
    assert.equal(trust(""), false);
    assert.equal(trust("false"), false);
    assert.equal(trust("true"), true);
    assert.equal(trust("TRUE"), true);
    assert.equal(trust("False"), false);
    assert.equal(trust("1"), 1);
    assert.equal(trust("loopback, 10.0.0.0/8"), "loopback, 10.0.0.0/8");
  });

  it("refuses a malformed number with the variable's name", () => {
    assert.throws(
      () => loadConfig({ SLIPWAY_DATA_DIR: join(dir, "d"), SLIPWAY_WORKER_CONCURRENCY: "two" }),
      /SLIPWAY_WORKER_CONCURRENCY must be an integer/,
    );
  });
});
