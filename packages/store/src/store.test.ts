import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { DEFAULT_RULE, isSlipwayError, type BuildStatus } from "@slipway/core";
import { createStore } from "./create-store.js";
import { createTestDatabase, describeOnEveryDialect, type StoreCase } from "./create-test-database.js";
import type { NewBuild, NewDelivery, RepositoryRecord, Store } from "./types.js";

/** A claim's rank for builds of commits made at the same time: the build id decides. */
function rank(buildId: string, committedAt = "2026-01-01T00:00:00.000Z"): string {
  return `${committedAt}|${buildId}`;
}

const COMMIT = "0123456789abcdef0123456789abcdef01234567";

function newBuild(repo: RepositoryRecord, overrides: Partial<NewBuild> = {}): NewBuild {
  return {
    repositoryId: repo.id,
    repository: `${repo.namespace}/${repo.name}`,
    ruleId: null,
    cause: { type: "manual" },
    sourceType: "branch",
    sourceName: "main",
    commit: COMMIT,
    commitMessage: "Add a Dockerfile",
    tags: ["latest"],
    dockerfile: "Dockerfile",
    context: "/",
    cache: true,
    buildArgs: { FOO: "bar" },
    image: `127.0.0.1:5000/${repo.namespace}/${repo.name}`,
    ...overrides,
  };
}

function newDelivery(overrides: Partial<NewDelivery> = {}): NewDelivery {
  return {
    sourceId: null,
    provider: "github",
    event: "push",
    deliveryKey: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    status: 202,
    outcome: "queued",
    reason: null,
    ...overrides,
  };
}

async function createRepo(store: Store, name = "hello", namespace = "acme"): Promise<RepositoryRecord> {
  return store.createRepository({ namespace, name, private: false, description: "" });
}

function isConflict(err: unknown): boolean {
  return isSlipwayError(err) && err.code === "conflict";
}

/** Runs `migrate()` of a store in `count` separate processes at once. */
async function migrateInProcesses(url: string, count: number): Promise<void> {
  const index = new URL("./index.js", import.meta.url).href;
  // Every process waits for the same moment, so their migrations really overlap.
  const code =
    `import { createStore } from ${JSON.stringify(index)};\n` +
    `const store = createStore({ databaseUrl: process.env.STORE_URL });\n` +
    `await new Promise((r) => setTimeout(r, Number(process.env.START_AT) - Date.now()));\n` +
    `try { await store.migrate(); } finally { await store.close(); }\n`;
  const startAt = String(Date.now() + 1500);
  const runs = Array.from({ length: count }, () => {
    return new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
        env: { ...process.env, STORE_URL: url, START_AT: startAt },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`migrate process exited with ${code}: ${stderr}`)),
      );
    });
  });
  await Promise.all(runs);
}

const cases: StoreCase[] = [
  {
    name: "migrate twice is a no-op",
    async run(store) {
      await store.migrate();
      await store.ping();
      await createRepo(store);
    },
  },
  {
    name: "migrate from several processes at once",
    migrated: false,
    async run(store, db) {
      await migrateInProcesses(db.url, 4);
      await store.migrate();
      assert.equal((await createRepo(store)).name, "hello");
    },
  },
  {
    name: "repositories: create, conflict, find, update",
    async run(store) {
      const repo = await store.createRepository({
        namespace: "acme",
        name: "hello",
        private: true,
        description: "greets",
        registryUrl: "registry.example.com",
      });
      assert.match(repo.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      assert.equal(repo.private, true);
      assert.equal(repo.registryUrl, "registry.example.com");
      assert.equal(repo.registryUsername, null);
      assert.match(repo.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      await assert.rejects(createRepo(store), (err) => {
        assert.ok(isConflict(err));
        assert.equal((err as Error).message, "repository acme/hello already exists");
        return true;
      });
      // Another namespace may use the name.
      await createRepo(store, "hello", "other");

      assert.deepEqual(await store.findRepository("acme", "hello"), repo);
      assert.deepEqual(await store.getRepository(repo.id), repo);
      assert.equal(await store.findRepository("acme", "nope"), undefined);

      const updated = await store.updateRepository(repo.id, { private: false, registryUrl: null });
      assert.equal(updated?.private, false);
      assert.equal(updated?.registryUrl, null);
      assert.equal(updated?.description, "greets");
      assert.ok(updated !== undefined && updated.updatedAt >= repo.updatedAt);
      assert.equal(await store.updateRepository("00000000-0000-7000-8000-000000000000", { private: true }), undefined);
    },
  },
  {
    name: "repositories: delete cascades to source, rules, builds, logs, events, tags",
    async run(store) {
      const repo = await createRepo(store);
      const source = await store.setSource(repo.id, {
        provider: "github",
        repository: "acme/hello",
        cloneUrl: "https://github.com/acme/hello.git",
        secretEnc: "sealed",
        credentialsEnc: null,
      });
      const rule = await store.createRule(repo.id, DEFAULT_RULE);
      const { delivery, builds } = await store.recordDelivery(newDelivery({ sourceId: source.id }), [
        newBuild(repo, { ruleId: rule.id }),
      ]);
      const build = builds[0]!;
      await store.appendBuildLog(build.id, "step 1\n");
      await store.claimTags(repo.id, build.id, ["latest"], rank(build.id));

      assert.equal(await store.deleteRepository(repo.id), true);
      assert.equal(await store.deleteRepository(repo.id), false);
      assert.equal(await store.getRepository(repo.id), undefined);
      assert.equal(await store.getSource(source.id), undefined);
      assert.equal(await store.getRule(rule.id), undefined);
      assert.equal(await store.getBuild(build.id), undefined);
      assert.deepEqual(await store.readBuildLog(build.id), []);
      assert.deepEqual(await store.listBuildEvents(build.id), []);
      // The delivery stays (the hook's history) without its source.
      const kept = await store.getDelivery(delivery.id);
      assert.equal(kept?.sourceId, null);
      assert.deepEqual(kept?.buildIds, []);
      // The name is free again, and so is the tag.
      const again = await createRepo(store);
      const [rebuilt] = await store.createBuilds([newBuild(again)]);
      assert.deepEqual(await store.claimTags(again.id, rebuilt!.id, ["latest"], rank(rebuilt!.id)), ["latest"]);
    },
  },
  {
    name: "repositories: list by namespace and name, three pages",
    async run(store) {
      for (const [ns, name] of [
        ["b", "one"],
        ["a", "two"],
        ["a", "one"],
        ["c", "x"],
        ["a-b", "y"],
      ] as const) {
        await createRepo(store, name, ns);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listRepositories({ limit: 2, cursor });
        pages++;
        seen.push(...page.items.map((r) => `${r.namespace}/${r.name}`));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ["a/one", "a/two", "a-b/y", "b/one", "c/x"]);
      await assert.rejects(store.listRepositories({ limit: 2, cursor: "not a cursor" }), (err) => {
        assert.ok(isSlipwayError(err) && err.code === "bad_request");
        return true;
      });
    },
  },
  {
    name: "sources: link, re-link keeps the id, find case-insensitively",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      const first = await store.setSource(repo.id, {
        provider: "github",
        repository: "Acme/Hello",
        cloneUrl: "https://github.com/Acme/Hello.git",
        secretEnc: "s1",
        credentialsEnc: null,
      });
      assert.equal(first.repositoryId, repo.id);
      assert.deepEqual(await store.getSourceOfRepository(repo.id), first);

      const relinked = await store.setSource(repo.id, {
        provider: "gitlab",
        repository: "Acme/Hello",
        cloneUrl: "https://gitlab.example.com/Acme/Hello.git",
        secretEnc: "s2",
        credentialsEnc: "c2",
      });
      assert.equal(relinked.id, first.id);
      assert.equal(relinked.createdAt, first.createdAt);
      assert.equal(relinked.provider, "gitlab");
      assert.equal(relinked.secretEnc, "s2");
      assert.equal(relinked.credentialsEnc, "c2");
      assert.deepEqual(await store.getSource(first.id), relinked);

      const second = await store.setSource(other.id, {
        provider: "gitlab",
        repository: "acme/hello",
        cloneUrl: "https://gitlab.example.com/acme/hello.git",
        secretEnc: null,
        credentialsEnc: null,
      });
      const found = await store.findSources("gitlab", "ACME/hello");
      assert.deepEqual(
        found.map((s) => s.id),
        [first.id, second.id],
      );
      assert.deepEqual(await store.findSources("github", "acme/hello"), []);
      assert.equal(await store.getSourceOfRepository("00000000-0000-7000-8000-000000000000"), undefined);
      await assert.rejects(
        store.setSource("00000000-0000-7000-8000-000000000000", {
          provider: "github",
          repository: "a/b",
          cloneUrl: "https://github.com/a/b.git",
          secretEnc: null,
          credentialsEnc: null,
        }),
        (err) => isSlipwayError(err) && err.code === "not_found",
      );
    },
  },
  {
    name: "rules: create, list in creation order, update, delete",
    async run(store) {
      const repo = await createRepo(store);
      const main = await store.createRule(repo.id, DEFAULT_RULE);
      const tags = await store.createRule(repo.id, {
        ...DEFAULT_RULE,
        sourceType: "tag",
        sourceName: "/^v([0-9.]+)$/",
        dockerTag: "{\\1},latest",
        autobuild: false,
        cache: false,
        buildArgs: { A: "1", B: "two" },
      });
      const dev = await store.createRule(repo.id, { ...DEFAULT_RULE, sourceName: "dev", dockerTag: "dev" });
      assert.deepEqual(
        (await store.listRules(repo.id)).map((r) => r.id),
        [main.id, tags.id, dev.id],
      );
      assert.deepEqual(await store.getRule(tags.id), tags);
      assert.equal(tags.autobuild, false);
      assert.deepEqual(tags.buildArgs, { A: "1", B: "two" });
      assert.equal(tags.dockerTag, "{\\1},latest");

      const updated = await store.updateRule(tags.id, { autobuild: true, buildArgs: {} });
      assert.equal(updated?.autobuild, true);
      assert.deepEqual(updated?.buildArgs, {});
      assert.equal(updated?.sourceName, "/^v([0-9.]+)$/");
      assert.deepEqual(await store.updateRule(tags.id, {}), updated);
      assert.equal(await store.updateRule("00000000-0000-7000-8000-000000000000", { cache: true }), undefined);

      assert.equal(await store.deleteRule(main.id), true);
      assert.equal(await store.deleteRule(main.id), false);
      assert.deepEqual(
        (await store.listRules(repo.id)).map((r) => r.id),
        [tags.id, dev.id],
      );
    },
  },
  {
    name: "builds of a deleted rule keep going without it",
    async run(store) {
      const repo = await createRepo(store);
      const rule = await store.createRule(repo.id, DEFAULT_RULE);
      const [build] = await store.createBuilds([newBuild(repo, { ruleId: rule.id })]);
      await store.deleteRule(rule.id);
      assert.equal((await store.getBuild(build!.id))?.ruleId, null);
    },
  },
  {
    name: "recordDelivery: builds queued with a first event; a redelivery returns the first",
    async run(store) {
      const repo = await createRepo(store);
      const first = await store.recordDelivery(newDelivery(), [
        newBuild(repo, { cause: { type: "push" } }),
        newBuild(repo, { cause: { type: "push" }, dockerfile: "Dockerfile.alpine", tags: ["alpine"] }),
      ]);
      assert.equal(first.duplicate, false);
      assert.equal(first.builds.length, 2);
      assert.deepEqual(first.delivery.buildIds, first.builds.map((b) => b.id));
      assert.equal(first.delivery.deliveryKey, "72d3162e-cc78-11e3-81ab-4c9367dc0958");
      for (const build of first.builds) {
        assert.equal(build.status, "queued");
        assert.deepEqual(build.cause, { type: "push", delivery: first.delivery.id });
        assert.equal(build.queuedAt, first.delivery.receivedAt);
        assert.deepEqual(await store.listBuildEvents(build.id), [
          { buildId: build.id, status: "queued", at: build.queuedAt },
        ]);
      }
      assert.deepEqual(first.builds[1]?.tags, ["alpine"]);
      assert.deepEqual(first.builds[0]?.buildArgs, { FOO: "bar" });

      const again = await store.recordDelivery(newDelivery({ event: "push" }), [newBuild(repo)]);
      assert.equal(again.duplicate, true);
      assert.deepEqual(again.delivery, first.delivery);
      assert.deepEqual(again.builds, first.builds);
      assert.equal((await store.listBuilds(repo.id, { limit: 10 })).items.length, 2);

      // The same key from another forge is another delivery.
      const gitlab = await store.recordDelivery(newDelivery({ provider: "gitlab" }), []);
      assert.equal(gitlab.duplicate, false);
      assert.deepEqual(await store.getDelivery(first.delivery.id), first.delivery);
      assert.equal(await store.getDelivery("00000000-0000-7000-8000-000000000000"), undefined);
    },
  },
  {
    name: "recordDelivery: keyless and rejected deliveries never count as duplicates",
    async run(store) {
      const keyless = newDelivery({ deliveryKey: null, outcome: "ignored", status: 200, reason: "ping" });
      assert.equal((await store.recordDelivery(keyless, [])).duplicate, false);
      assert.equal((await store.recordDelivery(keyless, [])).duplicate, false);

      // A forged delivery (bad signature) must not block the genuine one with its key.
      const forged = newDelivery({ deliveryKey: "k1", outcome: "rejected", status: 401, reason: "bad signature" });
      assert.equal((await store.recordDelivery(forged, [])).duplicate, false);
      const genuine = await store.recordDelivery(newDelivery({ deliveryKey: "k1" }), []);
      assert.equal(genuine.duplicate, false);
      const redelivered = await store.recordDelivery(newDelivery({ deliveryKey: "k1" }), []);
      assert.equal(redelivered.duplicate, true);
      assert.equal(redelivered.delivery.id, genuine.delivery.id);
      // The caller records the redelivery itself as a "duplicate" delivery.
      const noted = await store.recordDelivery(newDelivery({ deliveryKey: "k1", outcome: "duplicate", status: 200 }), []);
      assert.equal(noted.duplicate, false);
      assert.equal(noted.delivery.outcome, "duplicate");
    },
  },
  {
    name: "recordDelivery: concurrent duplicates, one wins and the others get the winner",
    async run(store) {
      const repo = await createRepo(store);
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          store.recordDelivery(newDelivery({ deliveryKey: "race" }), [newBuild(repo, { cause: { type: "push" } })]),
        ),
      );
      const winners = results.filter((r) => !r.duplicate);
      assert.equal(winners.length, 1);
      const winner = winners[0]!;
      assert.equal(winner.builds.length, 1);
      for (const r of results) {
        assert.deepEqual(r.delivery, winner.delivery);
        assert.deepEqual(r.builds, winner.builds);
      }
      assert.equal((await store.listBuilds(repo.id, { limit: 100 })).items.length, 1);
      assert.equal((await store.listDeliveries({ limit: 100 })).items.length, 1);
    },
  },
  {
    name: "configVersion: moves with every change to repositories, sources and rules, and with nothing else",
    async run(store) {
      const versions: number[] = [await store.configVersion()];
      const moved = async (what: string) => {
        const version = await store.configVersion();
        assert.ok(version > versions.at(-1)!, `${what} moves the version`);
        versions.push(version);
      };
      const repo = await createRepo(store);
      await moved("createRepository");
      const source = await store.setSource(repo.id, {
        provider: "github",
        repository: "acme/hello",
        cloneUrl: "https://github.com/acme/hello.git",
        secretEnc: null,
        credentialsEnc: null,
      });
      await moved("setSource");
      await store.setSource(repo.id, { provider: "github", repository: "acme/hello", cloneUrl: "https://x/y.git", secretEnc: "s", credentialsEnc: null });
      await moved("setSource again");
      const rule = await store.createRule(repo.id, DEFAULT_RULE);
      await moved("createRule");
      await store.updateRule(rule.id, { dockerTag: "edge" });
      await moved("updateRule");
      await store.updateRepository(repo.id, { description: "changed" });
      await moved("updateRepository");

      // The webhook path's own writes leave it where it is.
      const { builds } = await store.recordDelivery(newDelivery({ sourceId: source.id }), [newBuild(repo, { cause: { type: "push" } })]);
      await store.transitionBuild(builds[0]!.id, ["queued"], "cloning");
      await store.createBuilds([newBuild(repo)]);
      assert.equal(await store.configVersion(), versions.at(-1));

      await store.deleteRule(rule.id);
      await moved("deleteRule");
      await store.createRule(repo.id, DEFAULT_RULE);
      await moved("createRule");
      await store.deleteRepository(repo.id);
      await moved("deleteRepository (with its source and rules)");
    },
  },
  {
    name: "recordDeliveries: one transaction, each delivery as recordDelivery would record it in turn",
    async run(store) {
      const repo = await createRepo(store);
      const earlier = await store.recordDelivery(newDelivery({ deliveryKey: "old" }), [newBuild(repo, { cause: { type: "push" } })]);
      const results = await store.recordDeliveries([
        { delivery: newDelivery({ deliveryKey: "b" }), builds: [newBuild(repo, { cause: { type: "push" } }), newBuild(repo, { cause: { type: "push" }, tags: ["x"] })] },
        { delivery: newDelivery({ deliveryKey: "a" }), builds: [newBuild(repo, { cause: { type: "push" } })] },
        // A redelivery of one recorded before, and of one earlier in the same batch.
        { delivery: newDelivery({ deliveryKey: "old" }), builds: [newBuild(repo)] },
        { delivery: newDelivery({ deliveryKey: "b" }), builds: [newBuild(repo)] },
        // Neither claims a key; a forged one does not block the genuine one after it.
        { delivery: newDelivery({ deliveryKey: null, outcome: "ignored", status: 200, reason: "ping" }), builds: [] },
        { delivery: newDelivery({ deliveryKey: "c", outcome: "rejected", status: 401, reason: "bad signature" }), builds: [] },
        { delivery: newDelivery({ deliveryKey: "c", outcome: "ignored", status: 200, reason: "no rule" }), builds: [] },
        { delivery: newDelivery({ deliveryKey: "b", outcome: "duplicate", status: 200 }), builds: [] },
      ]);
      assert.deepEqual(
        results.map((r) => r.duplicate),
        [false, false, true, true, false, false, false, false],
      );
      const [b, a, old, bAgain, ping, forged, genuine, noted] = results;
      assert.deepEqual(b!.builds.map((x) => x.tags), [["latest"], ["x"]]);
      assert.deepEqual(b!.delivery.buildIds, b!.builds.map((x) => x.id));
      assert.equal(a!.builds.length, 1);
      assert.deepEqual(old!.delivery, earlier.delivery);
      assert.deepEqual(old!.builds, earlier.builds);
      assert.deepEqual(bAgain!.delivery, b!.delivery);
      assert.deepEqual(bAgain!.builds, b!.builds);
      assert.equal(ping!.delivery.outcome, "ignored");
      assert.equal(forged!.delivery.outcome, "rejected");
      assert.equal(genuine!.delivery.outcome, "ignored");
      assert.equal(noted!.delivery.outcome, "duplicate");
      for (const r of [b!, a!]) {
        assert.deepEqual(await store.getDelivery(r.delivery.id), r.delivery);
        for (const build of r.builds) {
          assert.deepEqual(await store.getBuild(build.id), build);
          assert.deepEqual(build.cause, { type: "push", delivery: r.delivery.id });
          assert.deepEqual(await store.listBuildEvents(build.id), [{ buildId: build.id, status: "queued", at: build.queuedAt }]);
        }
      }
      // Every delivery that is not a redelivery is its own row, in the batch's order.
      const listed = (await store.listDeliveries({ limit: 100 })).items.map((d) => d.id).reverse();
      assert.deepEqual(listed, [earlier, b, a, ping, forged, genuine, noted].map((r) => r!.delivery.id));
      assert.equal((await store.listBuilds(repo.id, { limit: 100 })).items.length, 4);
      assert.deepEqual(await store.recordDeliveries([]), []);
    },
  },
  {
    name: "recordDeliveries: all or none",
    async run(store) {
      const repo = await createRepo(store);
      const gone = { ...repo, id: "00000000-0000-7000-8000-000000000000" };
      await assert.rejects(
        store.recordDeliveries([
          { delivery: newDelivery({ deliveryKey: "fine" }), builds: [newBuild(repo, { cause: { type: "push" } })] },
          { delivery: newDelivery({ deliveryKey: "broken" }), builds: [newBuild(gone, { cause: { type: "push" } })] },
        ]),
      );
      assert.equal((await store.listDeliveries({ limit: 10 })).items.length, 0);
      assert.equal((await store.listBuilds(repo.id, { limit: 10 })).items.length, 0);
      assert.equal((await store.recordDelivery(newDelivery({ deliveryKey: "fine" }), [])).duplicate, false);
    },
  },
  {
    name: "listDeliveries: newest first, by source, paginated",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      const source = await store.setSource(repo.id, {
        provider: "github",
        repository: "acme/hello",
        cloneUrl: "https://github.com/acme/hello.git",
        secretEnc: null,
        credentialsEnc: null,
      });
      const otherSource = await store.setSource(other.id, {
        provider: "github",
        repository: "acme/other",
        cloneUrl: "https://github.com/acme/other.git",
        secretEnc: null,
        credentialsEnc: null,
      });
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { delivery } = await store.recordDelivery(newDelivery({ sourceId: source.id, deliveryKey: `d${i}` }), [
          newBuild(repo),
        ]);
        mine.push(delivery.id);
        await store.recordDelivery(newDelivery({ sourceId: otherSource.id, deliveryKey: `o${i}` }), []);
      }
      await store.recordDelivery(newDelivery({ sourceId: null, deliveryKey: null, outcome: "rejected", status: 404 }), []);

      const page1 = await store.listDeliveries({ limit: 3, sourceId: source.id });
      assert.deepEqual(
        page1.items.map((d) => d.id),
        mine.slice(2).reverse(),
      );
      assert.ok(page1.items.every((d) => d.buildIds.length === 1 && d.sourceId === source.id));
      assert.notEqual(page1.nextCursor, null);
      const page2 = await store.listDeliveries({ limit: 3, sourceId: source.id, cursor: page1.nextCursor! });
      assert.deepEqual(
        page2.items.map((d) => d.id),
        mine.slice(0, 2).reverse(),
      );
      assert.equal(page2.nextCursor, null);

      const all = await store.listDeliveries({ limit: 100 });
      assert.equal(all.items.length, 11);
      assert.equal(all.items[0]?.outcome, "rejected");
    },
  },
  {
    name: "listBuilds: by branch or tag name and type, with the status, keyset on id",
    async run(store) {
      const repo = await createRepo(store);
      const made: [string, string, "branch" | "tag"][] = [];
      for (const [sourceName, sourceType] of [["main", "branch"], ["v1", "tag"], ["main", "branch"], ["v1", "branch"], ["main", "branch"]] as const) {
        const [build] = await store.createBuilds([newBuild(repo, { sourceName, sourceType })]);
        made.push([build!.id, sourceName, sourceType]);
      }
      const ids = (name: string, type?: string) => made.filter(([, n, t]) => n === name && (type === undefined || t === type)).map(([id]) => id).reverse();
      const first = await store.listBuilds(repo.id, { limit: 2, sourceName: "main" });
      assert.deepEqual(first.items.map((b) => b.id), ids("main").slice(0, 2));
      const second = await store.listBuilds(repo.id, { limit: 2, sourceName: "main", cursor: first.nextCursor! });
      assert.deepEqual(second.items.map((b) => b.id), ids("main").slice(2));
      assert.equal(second.nextCursor, null);
      assert.deepEqual((await store.listBuilds(repo.id, { limit: 10, sourceName: "v1" })).items.map((b) => b.id), ids("v1"));
      assert.deepEqual((await store.listBuilds(repo.id, { limit: 10, sourceName: "v1", sourceType: "tag" })).items.map((b) => b.id), ids("v1", "tag"));
      assert.deepEqual((await store.listBuilds(repo.id, { limit: 10, sourceType: "branch" })).items.length, 4);
      assert.ok(await store.transitionBuild(made[2]![0], ["queued"], "cloning"));
      assert.deepEqual((await store.listBuilds(repo.id, { limit: 10, sourceName: "main", status: "cloning" })).items.map((b) => b.id), [made[2]![0]]);
    },
  },
  {
    name: "listBuilds: newest first over three pages, by status",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const [build] = await store.createBuilds([newBuild(repo, { sourceName: `b${i}` })]);
        ids.push(build!.id);
      }
      await store.createBuilds([newBuild(other)]);
      for (const id of [ids[1]!, ids[4]!, ids[5]!]) {
        assert.ok(await store.transitionBuild(id, ["queued"], "cloning"));
      }

      const seen: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listBuilds(repo.id, { limit: 3, cursor });
        seen.push(page.items.map((b) => b.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      assert.deepEqual(seen, [ids.slice(4).reverse(), ids.slice(1, 4).reverse(), [ids[0]!]]);

      const cloning = await store.listBuilds(repo.id, { limit: 2, status: "cloning" });
      assert.deepEqual(
        cloning.items.map((b) => b.id),
        [ids[5], ids[4]],
      );
      const rest = await store.listBuilds(repo.id, { limit: 2, status: "cloning", cursor: cloning.nextCursor! });
      assert.deepEqual(
        rest.items.map((b) => b.id),
        [ids[1]],
      );
      assert.equal(rest.nextCursor, null);

      const queued = await store.listBuildsByStatus(["queued"], 10);
      assert.equal(queued.length, 5);
      assert.deepEqual(await store.countBuildsByStatus(), { queued: 5, cloning: 3 });
      assert.deepEqual(queued[0]?.id, ids[0]);
      assert.deepEqual(
        (await store.listBuildsByStatus(["cloning", "building"], 2)).map((b) => b.id),
        [ids[1], ids[4]],
      );
      assert.deepEqual(
        (await store.getBuilds([ids[3]!, "00000000-0000-7000-8000-000000000000", ids[0]!])).map((b) => b.id),
        [ids[3], ids[0]],
      );
    },
  },
  {
    name: "transitionBuild: compare-and-set, events in order",
    async run(store) {
      const repo = await createRepo(store);
      const [build] = await store.createBuilds([newBuild(repo)]);
      const id = build!.id;

      assert.equal(await store.transitionBuild(id, ["building"], "pushing"), undefined);
      assert.equal(await store.transitionBuild(id, [], "cloning"), undefined);
      assert.equal(await store.transitionBuild("00000000-0000-7000-8000-000000000000", ["queued"], "cloning"), undefined);

      const startedAt = new Date().toISOString();
      const cloning = await store.transitionBuild(id, ["queued"], "cloning", { startedAt });
      assert.equal(cloning?.status, "cloning");
      assert.equal(cloning?.startedAt, startedAt);

      // Two workers race for the same step: exactly one wins.
      const race = await Promise.all([
        store.transitionBuild(id, ["cloning"], "building"),
        store.transitionBuild(id, ["cloning"], "building"),
        store.transitionBuild(id, ["cloning"], "building"),
      ]);
      assert.equal(race.filter((b) => b !== undefined).length, 1);

      await store.transitionBuild(id, ["building"], "pushing");
      const done = await store.transitionBuild(id, ["pushing"], "success", {
        digest: "sha256:" + "a".repeat(64),
        finishedAt: new Date().toISOString(),
        tags: ["latest", "v1"],
        error: null,
      });
      assert.equal(done?.digest, "sha256:" + "a".repeat(64));
      assert.deepEqual(done?.tags, ["latest", "v1"]);
      assert.deepEqual(await store.getBuild(id), done);

      const failed = await store.createBuilds([newBuild(repo)]);
      const error = { code: "dockerfile_not_found" as const, message: "no Dockerfile at /Dockerfile" };
      const f = await store.transitionBuild(failed[0]!.id, ["queued"], "failed", { error });
      assert.deepEqual(f?.error, error);

      const events = await store.listBuildEvents(id);
      assert.deepEqual(
        events.map((e) => e.status),
        ["queued", "cloning", "building", "pushing", "success"] satisfies BuildStatus[],
      );
      const times = events.map((e) => e.at);
      assert.deepEqual(times, [...times].sort());
    },
  },
  {
    name: "appendBuildLog: concurrent appends get distinct seqs; read after a seq",
    async run(store) {
      const repo = await createRepo(store);
      const [a, b] = await store.createBuilds([newBuild(repo), newBuild(repo)]);
      const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendBuildLog(a!.id, `line ${i}\n`)));
      assert.deepEqual(
        [...seqs].sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      assert.equal(await store.appendBuildLog(b!.id, "other build\n"), 1);

      const all = await store.readBuildLog(a!.id);
      assert.deepEqual(
        all.map((c) => c.seq),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      // Each chunk is stored with the seq its append returned.
      for (const [i, seq] of seqs.entries()) {
        assert.equal(all.find((c) => c.seq === seq)?.data, `line ${i}\n`);
      }
      assert.deepEqual(
        (await store.readBuildLog(a!.id, 38)).map((c) => c.seq),
        [39, 40],
      );
      assert.deepEqual(await store.readBuildLog(a!.id, 40), []);

      await store.clearBuildLog(a!.id);
      assert.deepEqual(await store.readBuildLog(a!.id), []);
      // Numbers go on after a clear, so a follower reading "after 40" sees the new log.
      assert.equal(await store.appendBuildLog(a!.id, "again\n"), 41);
      assert.deepEqual(
        (await store.readBuildLog(a!.id, 40)).map((c) => c.data),
        ["again\n"],
      );
      assert.equal((await store.readBuildLog(b!.id)).length, 1);

      await assert.rejects(
        store.appendBuildLog("00000000-0000-7000-8000-000000000000", "x"),
        (err) => isSlipwayError(err) && err.code === "not_found",
      );
    },
  },
  {
    name: "claimTags: an older commit's build never takes a tag from a newer one's",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      const [older, newer] = await store.createBuilds([newBuild(repo), newBuild(repo)]);
      const [elsewhere] = await store.createBuilds([newBuild(other)]);
      assert.ok(older!.id < newer!.id);

      assert.deepEqual(await store.claimTags(repo.id, newer!.id, ["latest", "v2"], rank(newer!.id)), ["latest", "v2"]);
      assert.deepEqual(await store.claimTags(repo.id, older!.id, ["v1", "latest", "v1"], rank(older!.id)), ["v1"]);
      // Claiming again (a retried push) keeps the tags.
      assert.deepEqual(await store.claimTags(repo.id, newer!.id, ["v2", "latest"], rank(newer!.id)), ["v2", "latest"]);
      // A newer build takes tags from an older one.
      assert.deepEqual(await store.claimTags(repo.id, newer!.id, ["v1"], rank(newer!.id)), ["v1"]);
      assert.deepEqual(await store.claimTags(repo.id, older!.id, ["v1"], rank(older!.id)), []);
      // Tags belong to one repository.
      assert.deepEqual(await store.claimTags(other.id, elsewhere!.id, ["latest"], rank(elsewhere!.id)), ["latest"]);
      assert.deepEqual(await store.claimTags(repo.id, older!.id, [], rank(older!.id)), []);

      // A later build of an older commit (a late delivery, a retry) never takes a newer commit's tag.
      const [late] = await store.createBuilds([newBuild(repo)]);
      assert.ok(late!.id > newer!.id);
      assert.deepEqual(await store.claimTags(repo.id, late!.id, ["latest"], rank(late!.id, "2025-12-31T23:59:59.000Z")), []);
      assert.deepEqual(await store.claimTags(repo.id, late!.id, ["latest"], rank(late!.id, "2026-01-02T00:00:00.000Z")), ["latest"]);

      // Racing claims: the newest build ends up with every tag.
      const [b1, b2, b3] = await store.createBuilds([newBuild(repo), newBuild(repo), newBuild(repo)]);
      const claims = await Promise.all([
        store.claimTags(repo.id, b2!.id, ["x", "y"], rank(b2!.id)),
        store.claimTags(repo.id, b3!.id, ["y", "x"], rank(b3!.id)),
        store.claimTags(repo.id, b1!.id, ["x", "y"], rank(b1!.id)),
      ]);
      assert.deepEqual(claims[1], ["y", "x"]);
      assert.deepEqual(await store.claimTags(repo.id, b2!.id, ["x", "y"], rank(b2!.id)), []);
    },
  },
];

describeOnEveryDialect("store", cases);

describe("createStore", () => {
  it("takes sqlite: URLs and :memory:", async () => {
    for (const url of [":memory:", "sqlite::memory:"]) {
      const store = createStore({ databaseUrl: url });
      try {
        await store.migrate();
        assert.equal((await createRepo(store)).namespace, "acme");
      } finally {
        await store.close();
      }
    }
    const db = await createTestDatabase("sqlite");
    const store = createStore({ databaseUrl: `sqlite:${db.url}` });
    try {
      await store.migrate();
      await store.ping();
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it("refuses other schemes without echoing the URL", () => {
    assert.throws(
      () => createStore({ databaseUrl: "mysql://root:hunter2@localhost/slipway" }),
      (err: Error) => err.message.includes('"mysql:"') && !err.message.includes("hunter2"),
    );
  });
});
