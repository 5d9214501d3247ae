import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createStore, type NewBuild, type NewDelivery, type RepositoryRecord, type Store } from "@slipway/store";
import { pino } from "pino";
import { createDeliveryRecorder } from "./delivery-recorder.js";

function delivery(key: string | null, overrides: Partial<NewDelivery> = {}): NewDelivery {
  return { sourceId: null, provider: "github", event: "push", deliveryKey: key, status: 202, outcome: "queued", reason: null, ...overrides };
}

function build(repo: Pick<RepositoryRecord, "id" | "namespace" | "name">): NewBuild {
  return {
    repositoryId: repo.id,
    repository: `${repo.namespace}/${repo.name}`,
    ruleId: null,
    cause: { type: "push" },
    sourceType: "branch",
    sourceName: "main",
    commit: "0123456789abcdef0123456789abcdef01234567",
    commitMessage: "Add a Dockerfile",
    tags: ["latest"],
    dockerfile: "Dockerfile",
    context: "/",
    cache: true,
    buildArgs: {},
    image: `127.0.0.1:5000/${repo.namespace}/${repo.name}`,
  };
}

interface LogLine {
  msg?: string;
  deliveries?: Record<string, unknown>[];
}

/** A logger whose lines are kept, parsed. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  return { logger: pino(stream), lines };
}

describe("delivery recorder (group commit) on a real SQLite store", () => {
  let dir: string;
  let store: Store;
  let repo: RepositoryRecord;
  let commits: number;
  /** The real store's recordDeliveries, its commits counted. */
  const counted: Pick<Store, "recordDeliveries"> = {
    recordDeliveries: (items) => {
      commits++;
      return store.recordDeliveries(items);
    },
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "slipway-recorder-"));
    store = createStore({ databaseUrl: path.join(dir, "slipway.db") });
    await store.migrate();
    repo = await store.createRepository({ namespace: "acme", name: "hello", private: false, description: "" });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("records the deliveries of one turn in one commit, each answered with its own record", async () => {
    const { logger, lines } = capturingLogger();
    const recorder = createDeliveryRecorder({ store: counted, logger });
    commits = 0;
    const results = await Promise.all([
      recorder.record(delivery("a"), [build(repo)]),
      recorder.record(delivery("b"), [build(repo), build(repo)]),
      recorder.record(delivery("a"), [build(repo)]),
      recorder.record(delivery("bad", { status: 401, outcome: "rejected", reason: "bad signature" }), []),
    ]);
    assert.equal(commits, 1);
    const [a, b, again, rejected] = results;
    assert.equal(a!.duplicate, false);
    assert.equal(b!.builds.length, 2);
    assert.equal(again!.duplicate, true);
    assert.deepEqual(again!.delivery, a!.delivery);
    assert.equal(rejected!.delivery.outcome, "rejected");
    assert.deepEqual(await store.getDelivery(b!.delivery.id), b!.delivery);

    // One line per commit names every delivery it wrote (the redelivery wrote nothing).
    const recorded = lines.find((l) => l.msg === "deliveries recorded");
    assert.deepEqual(
      recorded?.deliveries?.map((d) => d["delivery"]),
      [a!.delivery.id, b!.delivery.id],
    );
    assert.deepEqual(lines.find((l) => l.msg === "deliveries rejected")?.deliveries, [
      { delivery: rejected!.delivery.id, status: 401, reason: "bad signature" },
    ]);

    // A delivery alone is committed at once, not held for company.
    const lone = await recorder.record(delivery("c"), []);
    assert.equal(lone.duplicate, false);
    assert.equal(commits, 2);
  });

  it("fails only the delivery that cannot be recorded, not the others of its commit", async () => {
    const recorder = createDeliveryRecorder({ store, logger: pino({ level: "silent" }) });
    const gone = { id: "00000000-0000-7000-8000-000000000000", namespace: "acme", name: "gone" };
    const results = await Promise.allSettled([
      recorder.record(delivery("fine-1"), [build(repo)]),
      recorder.record(delivery("broken"), [build(gone)]),
      recorder.record(delivery("fine-2"), [build(repo)]),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    for (const r of results) if (r.status === "fulfilled") assert.ok(await store.getDelivery(r.value.delivery.id));
    const keys = (await store.listDeliveries({ limit: 100 })).items.map((d) => d.deliveryKey);
    assert.ok(!keys.includes("broken"));
  });

  it("fails a whole commit at once when the database itself fails, rather than trying each delivery again", async () => {
    let calls = 0;
    const down: Pick<Store, "recordDeliveries"> = {
      recordDeliveries: async () => {
        calls++;
        throw Object.assign(new Error("SQLITE_BUSY: database is locked"), { code: "SQLITE_BUSY" });
      },
    };
    const recorder = createDeliveryRecorder({ store: down, logger: pino({ level: "silent" }) });
    const results = await Promise.allSettled([recorder.record(delivery("one"), []), recorder.record(delivery("two"), []), recorder.record(delivery("three"), [])]);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected", "rejected"]);
    assert.equal(calls, 1, "one commit tried, not one per delivery");
  });
});
