import assert from "node:assert/strict";
import { createSecretBox, isSlipwayError, type ErrorCode } from "@slipway/core";
import { describeOnEveryDialect, type StoreCase } from "./create-test-database.js";
import type { RepositoryRecord, Store } from "./types.js";

const box = createSecretBox("variables-store-test-key");

async function createRepo(store: Store, name = "hello"): Promise<RepositoryRecord> {
  return store.createRepository({ namespace: "acme", name, private: false, description: "" });
}

function isCode(code: ErrorCode) {
  return (err: unknown) => isSlipwayError(err) && err.code === code;
}

const cases: StoreCase[] = [
  {
    name: "set creates, then replaces keeping id and createdAt",
    async run(store) {
      const repo = await createRepo(store);
      const first = await store.variables.set(repo.id, { key: "API_URL", valueEnc: box.seal("https://a"), secret: false });
      assert.equal(first.created, true);
      assert.equal(first.variable.key, "API_URL");
      assert.equal(first.variable.repositoryId, repo.id);
      assert.equal(first.variable.secret, false);
      assert.equal(box.open(first.variable.valueEnc), "https://a");
      assert.equal(first.variable.createdAt, first.variable.updatedAt);

      const again = await store.variables.set(repo.id, { key: "API_URL", valueEnc: box.seal("s3cr3t"), secret: true });
      assert.equal(again.created, false);
      assert.equal(again.variable.id, first.variable.id);
      assert.equal(again.variable.createdAt, first.variable.createdAt);
      assert.ok(again.variable.updatedAt >= first.variable.updatedAt);
      assert.equal(again.variable.secret, true);
      assert.equal(box.open(again.variable.valueEnc), "s3cr3t");
      assert.deepEqual(await store.variables.get(repo.id, "API_URL"), again.variable);
    },
  },
  {
    name: "list is per repository, by key in code-unit order on both databases",
    async run(store) {
      const repo = await createRepo(store);
      const other = await createRepo(store, "other");
      for (const key of ["b", "A", "_x", "B", "a1", "a"]) {
        await store.variables.set(repo.id, { key, valueEnc: box.seal(key), secret: key === "B" });
      }
      await store.variables.set(other.id, { key: "ONLY_OTHER", valueEnc: box.seal("x"), secret: false });
      const listed = await store.variables.list(repo.id);
      assert.deepEqual(listed.map((v) => v.key), ["A", "B", "_x", "a", "a1", "b"]);
      assert.deepEqual(listed.map((v) => v.secret), [false, true, false, false, false, false]);
      assert.deepEqual((await store.variables.list(other.id)).map((v) => v.key), ["ONLY_OTHER"]);
      assert.equal(await store.variables.get(other.id, "A"), undefined);
    },
  },
  {
    name: "keys are case-sensitive",
    async run(store) {
      const repo = await createRepo(store);
      await store.variables.set(repo.id, { key: "token", valueEnc: box.seal("lower"), secret: false });
      const upper = await store.variables.set(repo.id, { key: "TOKEN", valueEnc: box.seal("upper"), secret: false });
      assert.equal(upper.created, true);
      assert.equal((await store.variables.list(repo.id)).length, 2);
    },
  },
  {
    name: "set refuses bad keys and unknown repositories",
    async run(store) {
      const repo = await createRepo(store);
      for (const key of ["", "1ABC", "A-B", "A B", "É", "a".repeat(129)]) {
        await assert.rejects(store.variables.set(repo.id, { key, valueEnc: box.seal("x"), secret: false }), isCode("validation_failed"), key);
      }
      await store.variables.set(repo.id, { key: "a".repeat(128), valueEnc: box.seal("x"), secret: false });
      await assert.rejects(
        store.variables.set("0190a0a0-0000-7000-8000-000000000000", { key: "K", valueEnc: box.seal("x"), secret: false }),
        isCode("not_found"),
      );
    },
  },
  {
    name: "delete removes one variable; deleting the repository removes them all",
    async run(store) {
      const repo = await createRepo(store);
      await store.variables.set(repo.id, { key: "A", valueEnc: box.seal("1"), secret: false });
      await store.variables.set(repo.id, { key: "B", valueEnc: box.seal("2"), secret: true });
      assert.equal(await store.variables.delete(repo.id, "A"), true);
      assert.equal(await store.variables.delete(repo.id, "A"), false);
      assert.deepEqual((await store.variables.list(repo.id)).map((v) => v.key), ["B"]);

      assert.equal(await store.deleteRepository(repo.id), true);
      assert.deepEqual(await store.variables.list(repo.id), []);
      // Recreated under the same name, the repository starts with none.
      const again = await createRepo(store);
      assert.deepEqual(await store.variables.list(again.id), []);
    },
  },
  {
    name: "concurrent sets of one key leave one variable",
    async run(store) {
      const repo = await createRepo(store);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.variables.set(repo.id, { key: "RACE", valueEnc: box.seal(String(i)), secret: false })),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      const listed = await store.variables.list(repo.id);
      assert.equal(listed.length, 1);
      assert.ok(results.every((r) => r.variable.id === listed[0]!.id));
    },
  },
];

describeOnEveryDialect("variables store", cases);
