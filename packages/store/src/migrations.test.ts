import assert from "node:assert/strict";
import { Kysely, Migrator, sql } from "kysely";
import { createDialect } from "./create-store.js";
import { describeOnEveryDialect, type StoreCase } from "./create-test-database.js";
import { migrations } from "./migrations/index.js";

const cases: StoreCase[] = [
  {
    name: "0008 keeps every webhook delivery and attempt made before it",
    migrated: false,
    async run(store, database) {
      // The schema as of 0007, which no type in the code describes any more.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const db = new Kysely<any>({ dialect: createDialect({ databaseUrl: database.url }) });
      try {
        const upTo = (last: string) =>
          new Migrator({ db, provider: { getMigrations: async () => Object.fromEntries(Object.entries(migrations).filter(([name]) => name <= last)) } });
        const before = await upTo("0007_config_version").migrateToLatest();
        assert.equal(before.error, undefined);
        const at = "2026-11-01T00:00:00.000Z";
        await db.insertInto("repositories").values({ id: "r1", namespace: "acme", name: "app", private: 0, description: "", registry_url: null, registry_username: null, registry_password_enc: null, created_at: at, updated_at: at }).execute();
        await db
          .insertInto("builds")
          .values({ id: "b1", repository_id: "r1", repository: "acme/app", rule_id: null, delivery_id: null, status: "success", cause: "{}", source_type: "branch", source_name: "main", commit_sha: "a".repeat(40), commit_message: "", tags: "[]", dockerfile: "Dockerfile", context: "", cache: 1, build_args: "{}", image: "x", digest: null, error: null, queued_at: at, started_at: null, finished_at: null, log_seq: 0 })
          .execute();
        await db.insertInto("webhooks").values({ id: "w1", repository_id: "r1", name: "ci", url: "https://ci.example.com/", secret_enc: null, created_at: at }).execute();
        await db.insertInto("webhook_deliveries").values({ id: "d1", webhook_id: "w1", build_id: "b1", event: "push", tag: "latest", payload: "{}", status: "delivered", attempt_count: 1, created_at: at, updated_at: at }).execute();
        await db.insertInto("webhook_attempts").values({ delivery_id: "d1", attempt: 1, at, status_code: 200, error: null, duration_ms: 12, response: "ok" }).execute();

        await store.migrate();
        const delivery = await store.webhooks.getDelivery("d1");
        assert.equal(delivery?.buildId, "b1");
        assert.equal(delivery?.pushId, null);
        assert.deepEqual(delivery?.attempts.map((a) => [a.attempt, a.statusCode, a.response]), [[1, 200, "ok"]]);
        // The attempts still follow their delivery when it goes.
        await store.webhooks.delete("w1");
        const left = await sql<{ n: number | string }>`select count(*) as n from webhook_attempts`.execute(db);
        assert.equal(Number(left.rows[0]?.n), 0);
      } finally {
        await db.destroy();
      }
    },
  },
];

describeOnEveryDialect("migrations", cases);
