import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { isSlipwayError } from "@slipway/core";
import { describeOnEveryDialect, type StoreCase } from "./create-test-database.js";
import type { RepositoryRecord, Store } from "./types.js";

const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");
const newHash = () => hashOf(randomBytes(32).toString("base64url"));

async function createRepo(store: Store, name = "hello"): Promise<RepositoryRecord> {
  return store.createRepository({ namespace: "acme", name, private: false, description: "" });
}

const cases: StoreCase[] = [
  {
    name: "create, list in creation order, get",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      const ci = await store.triggers.create(repo.id, { name: "ci", tokenHash: newHash() });
      const nightly = await store.triggers.create(repo.id, { name: "nightly", tokenHash: newHash() });
      await store.triggers.create(other.id, { name: "elsewhere", tokenHash: newHash() });
      assert.equal(ci.repositoryId, repo.id);
      assert.equal(ci.name, "ci");
      assert.match(ci.tokenHash, /^[0-9a-f]{64}$/);
      assert.equal(ci.lastUsedAt, null);
      assert.equal(ci.revokedAt, null);
      assert.ok(!Number.isNaN(Date.parse(ci.createdAt)));
      assert.deepEqual((await store.triggers.list(repo.id)).map((t) => t.name), ["ci", "nightly"]);
      assert.deepEqual(await store.triggers.get(nightly.id), nightly);
      assert.equal(await store.triggers.get("no-such-trigger"), undefined);
    },
  },
  {
    name: "create for an unknown repository is not_found",
    async run(store) {
      await assert.rejects(
        store.triggers.create("no-such-repository", { name: "ci", tokenHash: newHash() }),
        (err) => isSlipwayError(err) && err.code === "not_found",
      );
    },
  },
  {
    name: "revoke once: it leaves the list but stays readable",
    async run(store) {
      const repo = await createRepo(store);
      const kept = await store.triggers.create(repo.id, { name: "kept", tokenHash: newHash() });
      const gone = await store.triggers.create(repo.id, { name: "gone", tokenHash: newHash() });
      assert.equal(await store.triggers.revoke(gone.id), true);
      assert.equal(await store.triggers.revoke(gone.id), false);
      assert.equal(await store.triggers.revoke("no-such-trigger"), false);
      assert.deepEqual((await store.triggers.list(repo.id)).map((t) => t.id), [kept.id]);
      const revoked = await store.triggers.get(gone.id);
      assert.ok(revoked?.revokedAt);
    },
  },
  {
    name: "findByTokenHash finds a live trigger of any repository by its token's hash",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      const hash = newHash();
      const ci = await store.triggers.create(repo.id, { name: "ci", tokenHash: hash });
      const elsewhere = await store.triggers.create(other.id, { name: "elsewhere", tokenHash: newHash() });
      assert.deepEqual(await store.triggers.findByTokenHash(hash), ci);
      // The caller checks the repository: the store answers for any.
      assert.deepEqual(await store.triggers.findByTokenHash(elsewhere.tokenHash), elsewhere);
      assert.equal(await store.triggers.findByTokenHash(newHash()), undefined);
      assert.equal(await store.triggers.findByTokenHash(""), undefined);
      assert.equal(await store.triggers.revoke(ci.id), true);
      assert.equal(await store.triggers.findByTokenHash(hash), undefined, "a revoked trigger is not found");
    },
  },
  {
    name: "markUsed records the last call",
    async run(store) {
      const repo = await createRepo(store);
      const trigger = await store.triggers.create(repo.id, { name: "ci", tokenHash: newHash() });
      await store.triggers.markUsed(trigger.id, "2026-11-23T10:00:00.000Z");
      await store.triggers.markUsed(trigger.id, "2026-11-23T11:00:00.000Z");
      assert.equal((await store.triggers.get(trigger.id))?.lastUsedAt, "2026-11-23T11:00:00.000Z");
    },
  },
  {
    name: "deleting the repository deletes its triggers",
    async run(store) {
      const repo = await createRepo(store);
      const trigger = await store.triggers.create(repo.id, { name: "ci", tokenHash: newHash() });
      await store.deleteRepository(repo.id);
      assert.equal(await store.triggers.get(trigger.id), undefined);
    },
  },
];

describeOnEveryDialect("trigger store", cases);
