import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DEFAULT_RULE } from "@slipway/core";
import { createStore, type RepositoryRecord, type SourceRecord, type Store } from "@slipway/store";
import { createHookConfigCache, type ConfigReads } from "./hook-config-cache.js";

describe("hook config cache on a real SQLite store", () => {
  let dir: string;
  let file: string;
  let store: Store;
  let repo: RepositoryRecord;
  let source: SourceRecord;
  const reads: string[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "slipway-config-cache-"));
    file = path.join(dir, "slipway.db");
    store = createStore({ databaseUrl: file });
    await store.migrate();
    repo = await store.createRepository({ namespace: "acme", name: "hello", private: false, description: "" });
    source = await store.setSource(repo.id, { provider: "github", repository: "acme/hello", cloneUrl: "https://x/acme/hello.git", secretEnc: null, credentialsEnc: null });
    await store.createRule(repo.id, DEFAULT_RULE);
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The store's configuration reads, each written down as it is served. */
  function counted(): ConfigReads & Pick<Store, "configVersion"> {
    return {
      configVersion: () => store.configVersion(),
      getSource: (id) => (reads.push("getSource"), store.getSource(id)),
      findSources: (provider, name) => (reads.push("findSources"), store.findSources(provider, name)),
      getRepository: (id) => (reads.push("getRepository"), store.getRepository(id)),
      listRules: (id) => (reads.push("listRules"), store.listRules(id)),
    };
  }

  async function readAll(config: ConfigReads) {
    return {
      source: await config.getSource(source.id),
      found: await config.findSources("github", "ACME/Hello"),
      repository: await config.getRepository(repo.id),
      rules: await config.listRules(repo.id),
    };
  }

  it("reads each thing once while nothing changes, and again after any change, from any process", async () => {
    const cache = createHookConfigCache(counted());
    reads.length = 0;
    const first = await readAll(await cache.current());
    assert.deepEqual(first.source, source);
    assert.deepEqual(first.found, [source]);
    assert.equal(first.rules.length, 1);
    assert.equal(reads.length, 4);
    assert.deepEqual(await readAll(await cache.current()), first);
    assert.equal(reads.length, 4);

    // A change made through this store.
    await store.createRule(repo.id, { ...DEFAULT_RULE, sourceName: "develop", dockerTag: "edge" });
    assert.equal((await readAll(await cache.current())).rules.length, 2);
    assert.equal(reads.length, 8);

    // A change made by another process (another connection to the same file).
    const other = createStore({ databaseUrl: file });
    try {
      await other.updateRepository(repo.id, { registryUrl: "registry.example.com" });
      await other.setSource(repo.id, { ...source, secretEnc: "sealed" });
    } finally {
      await other.close();
    }
    const after = await readAll(await cache.current());
    assert.equal(after.repository?.registryUrl, "registry.example.com");
    assert.equal(after.source?.secretEnc, "sealed");
    assert.equal(reads.length, 12);
  });

  it("keeps nothing that was not found", async () => {
    const cache = createHookConfigCache(counted());
    reads.length = 0;
    for (let i = 0; i < 2; i++) {
      const config = await cache.current();
      assert.equal(await config.getSource("00000000-0000-7000-8000-000000000000"), undefined);
      assert.deepEqual(await config.findSources("gitlab", "acme/hello"), []);
    }
    assert.equal(reads.length, 4);
  });

  it("never keeps, for the new version, what was read under the old one", async () => {
    let version = 1;
    let state = "old";
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fake = {
      configVersion: async () => version,
      // A read that sees the database as it is when it begins, and finishes later.
      getRepository: async (id: string) => {
        const seen = state;
        await gate;
        return { id, description: seen } as RepositoryRecord;
      },
    } as unknown as Store;
    const cache = createHookConfigCache(fake);
    const slow = (await cache.current()).getRepository("r");
    state = "new";
    version = 2;
    const now = await cache.current();
    release();
    assert.equal((await slow)?.description, "old");
    assert.equal((await now.getRepository("r"))?.description, "new");
  });
});
