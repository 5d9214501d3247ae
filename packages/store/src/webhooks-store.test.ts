import assert from "node:assert/strict";
import { isSlipwayError } from "@slipway/core";
import { describeOnEveryDialect, type StoreCase } from "./create-test-database.js";
import type { BuildRecord, RepositoryRecord, Store } from "./types.js";

async function createRepo(store: Store, name = "hello"): Promise<RepositoryRecord> {
  return store.createRepository({ namespace: "acme", name, private: false, description: "" });
}

async function createBuild(store: Store, repo: RepositoryRecord): Promise<BuildRecord> {
  const [build] = await store.createBuilds([
    {
      repositoryId: repo.id,
      repository: `${repo.namespace}/${repo.name}`,
      ruleId: null,
      cause: { type: "manual" },
      sourceType: "branch",
      sourceName: "main",
      commit: "0123456789abcdef0123456789abcdef01234567",
      commitMessage: "",
      tags: ["latest", "v1"],
      dockerfile: "Dockerfile",
      context: "/",
      cache: true,
      buildArgs: {},
      image: `127.0.0.1:5000/acme/${repo.name}`,
    },
  ]);
  return build!;
}

const attempt = (statusCode: number | null, error: string | null = null) => ({
  at: new Date().toISOString(),
  statusCode,
  error,
  durationMs: 12,
  response: statusCode === null ? null : "ok",
});

const cases: StoreCase[] = [
  {
    name: "webhooks: create, list, get, delete; unknown repository",
    async run(store) {
      const repo = await createRepo(store);
      const a = await store.webhooks.create(repo.id, { name: "ci", url: "https://ci.example.com/hook", secretEnc: "v1.sealed" });
      const b = await store.webhooks.create(repo.id, { name: "chat", url: "https://chat.example.com/", secretEnc: null });
      assert.deepEqual(
        (await store.webhooks.list(repo.id)).map((w) => [w.name, w.url, w.secretEnc]),
        [["ci", "https://ci.example.com/hook", "v1.sealed"], ["chat", "https://chat.example.com/", null]],
      );
      assert.equal((await store.webhooks.get(a.id))?.repositoryId, repo.id);
      assert.equal(await store.webhooks.delete(b.id), true);
      assert.equal(await store.webhooks.delete(b.id), false);
      assert.equal(await store.webhooks.get(b.id), undefined);
      await assert.rejects(
        store.webhooks.create("0193a000-0000-7000-8000-00000000dead", { name: "x", url: "https://x/", secretEnc: null }),
        (err) => isSlipwayError(err) && err.code === "not_found",
      );
    },
  },
  {
    name: "deliveries: recorded once per (webhook, build, tag), however often the fan-out runs",
    async run(store) {
      const repo = await createRepo(store);
      const build = await createBuild(store, repo);
      const hook = await store.webhooks.create(repo.id, { name: "ci", url: "https://ci.example.com/", secretEnc: null });
      const items = [
        { webhookId: hook.id, event: "push", tag: "latest", payload: '{"tag":"latest"}' },
        { webhookId: hook.id, event: "push", tag: "v1", payload: '{"tag":"v1"}' },
      ];
      const first = await store.webhooks.recordDeliveries({ buildId: build.id }, items);
      const again = await store.webhooks.recordDeliveries({ buildId: build.id }, items);
      assert.deepEqual(first.map((d) => [d.tag, d.status, d.attempts.length]), [["latest", "pending", 0], ["v1", "pending", 0]]);
      assert.deepEqual(again.map((d) => d.id), first.map((d) => d.id));

      // A failure event is about no tag: one per webhook, also recorded once.
      const failedBuild = await createBuild(store, repo);
      const failure = { webhookId: hook.id, event: "build_failed", tag: null, payload: "{}" };
      await store.webhooks.recordDeliveries({ buildId: failedBuild.id }, [failure]);
      const [only, ...none] = await store.webhooks.recordDeliveries({ buildId: failedBuild.id }, [failure]);
      assert.deepEqual(none, []);
      assert.equal(only?.tag, null);
      assert.equal(only?.event, "build_failed");
      assert.equal((await store.webhooks.getDelivery(only!.id))?.payload, "{}");
    },
  },
  {
    name: "attempts: numbered across series, with the delivery's status",
    async run(store) {
      const repo = await createRepo(store);
      const build = await createBuild(store, repo);
      const hook = await store.webhooks.create(repo.id, { name: "ci", url: "https://ci.example.com/", secretEnc: null });
      const [delivery] = await store.webhooks.recordDeliveries({ buildId: build.id }, [{ webhookId: hook.id, event: "push", tag: "latest", payload: "{}" }]);
      const id = delivery!.id;
      assert.equal((await store.webhooks.recordAttempt(id, attempt(500), "pending"))?.attempt, 1);
      assert.equal((await store.webhooks.recordAttempt(id, attempt(null, "connect ECONNREFUSED"), "pending"))?.attempt, 2);
      assert.equal((await store.webhooks.recordAttempt(id, attempt(200), "delivered"))?.attempt, 3);
      let now = await store.webhooks.getDelivery(id);
      assert.equal(now?.status, "delivered");
      assert.deepEqual(now?.attempts.map((a) => [a.attempt, a.statusCode, a.error]), [
        [1, 500, null],
        [2, null, "connect ECONNREFUSED"],
        [3, 200, null],
      ]);

      // A redelivery goes on counting; two at once do not clash.
      assert.equal(await store.webhooks.setDeliveryStatus(id, "pending"), true);
      const both = await Promise.all([store.webhooks.recordAttempt(id, attempt(502), "failed"), store.webhooks.recordAttempt(id, attempt(502), "failed")]);
      assert.deepEqual(both.map((a) => a?.attempt).sort(), [4, 5]);
      now = await store.webhooks.getDelivery(id);
      assert.equal(now?.status, "failed");
      assert.equal(now?.attempts.length, 5);

      assert.equal(await store.webhooks.recordAttempt("0193a000-0000-7000-8000-00000000dead", attempt(200), "delivered"), undefined);
      assert.equal(await store.webhooks.setDeliveryStatus("0193a000-0000-7000-8000-00000000dead", "pending"), false);
    },
  },
  {
    name: "deliveries: listed newest first, paginated; gone with their webhook or repository",
    async run(store) {
      const repo = await createRepo(store);
      const hook = await store.webhooks.create(repo.id, { name: "ci", url: "https://ci.example.com/", secretEnc: null });
      const other = await store.webhooks.create(repo.id, { name: "other", url: "https://other.example.com/", secretEnc: null });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const build = await createBuild(store, repo);
        const [d] = await store.webhooks.recordDeliveries({ buildId: build.id }, [
          { webhookId: hook.id, event: "build_failed", tag: null, payload: `{"n":${i}}` },
          { webhookId: other.id, event: "build_failed", tag: null, payload: "{}" },
        ]);
        ids.push(d!.id);
        await store.webhooks.recordAttempt(d!.id, attempt(200), "delivered");
      }
      const page1 = await store.webhooks.listDeliveries(hook.id, { limit: 2 });
      assert.deepEqual(page1.items.map((d) => d.id), [ids[2], ids[1]]);
      assert.equal(page1.items[0]?.attempts.length, 1);
      assert.ok(page1.nextCursor);
      const page2 = await store.webhooks.listDeliveries(hook.id, { limit: 2, cursor: page1.nextCursor });
      assert.deepEqual(page2.items.map((d) => d.id), [ids[0]]);
      assert.equal(page2.nextCursor, null);

      await store.webhooks.delete(hook.id);
      assert.equal(await store.webhooks.getDelivery(ids[0]!), undefined);
      assert.equal((await store.webhooks.listDeliveries(other.id, { limit: 10 })).items.length, 3);
      await store.deleteRepository(repo.id);
      assert.equal(await store.webhooks.get(other.id), undefined);
      assert.equal((await store.webhooks.listDeliveries(other.id, { limit: 10 })).items.length, 0);
    },
  },
  {
    name: "pushes by hand: recorded once per registry event, with deliveries of their own",
    async run(store) {
      const repo = await createRepo(store);
      const hook = await store.webhooks.create(repo.id, { name: "ci", url: "https://ci.example.com/", secretEnc: null });
      const event = { eventId: "ev-1", tag: "v1", digest: `sha256:${"a".repeat(64)}`, pusher: "alice", pushedAt: "2026-11-23T05:00:00.000Z" };
      const first = await store.webhooks.recordPush(repo.id, event);
      const again = await store.webhooks.recordPush(repo.id, event);
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.deepEqual(again.push, first.push);
      assert.deepEqual(await store.webhooks.getPush(first.push.id), first.push);
      const item = { webhookId: hook.id, event: "push", tag: "v1", payload: "{}" };
      const [delivery] = await store.webhooks.recordDeliveries({ pushId: first.push.id }, [item]);
      const [same, ...none] = await store.webhooks.recordDeliveries({ pushId: first.push.id }, [item]);
      assert.deepEqual(none, []);
      assert.equal(same?.id, delivery?.id);
      assert.equal(delivery?.buildId, null);
      assert.equal(delivery?.pushId, first.push.id);
      // Listed with the webhook's other deliveries.
      assert.deepEqual((await store.webhooks.listDeliveries(hook.id, { limit: 10 })).items.map((d) => d.id), [delivery!.id]);
    },
  },
];

describeOnEveryDialect("webhooks store", cases);
