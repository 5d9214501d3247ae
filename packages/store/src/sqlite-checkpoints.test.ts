import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_RULE } from "@slipway/core";
import { createStore } from "./create-store.js";
import { DEFAULT_AUTOCHECKPOINT_PAGES, FALLBACK_AUTOCHECKPOINT_PAGES, startSqliteCheckpoints } from "./sqlite-checkpoints.js";

async function poll<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("SQLite checkpoints on a thread of their own", () => {
  it("copies what a connection wrote back into the database file, though the WAL is far below any automatic checkpoint", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-checkpoints-"));
    const file = path.join(dir, "slipway.db");
    const store = createStore({ databaseUrl: file });
    let closed = false;
    try {
      await store.migrate();
      const repo = await store.createRepository({ namespace: "acme", name: "hello", private: false, description: "" });
      await store.createRule(repo.id, DEFAULT_RULE);
      const [build] = await store.createBuilds([
        {
          repositoryId: repo.id,
          repository: "acme/hello",
          ruleId: null,
          cause: { type: "manual" },
          sourceType: "branch",
          sourceName: "main",
          commit: "0123456789abcdef0123456789abcdef01234567",
          commitMessage: "Add a Dockerfile",
          tags: ["latest"],
          dockerfile: "Dockerfile",
          context: "/",
          cache: true,
          buildArgs: {},
          image: "127.0.0.1:5000/acme/hello",
        },
      ]);
      // About 2 MB: some 500 pages in the WAL, half of SQLite's default automatic checkpoint
      // and a thirtieth of the connection's own while the thread runs.
      const before = statSync(file).size;
      await store.appendBuildLog(build!.id, "x".repeat(2_000_000));
      const after = await poll("the database file to take the WAL's pages", () => {
        const size = statSync(file).size;
        return size >= before + 2_000_000 ? size : undefined;
      });
      assert.ok(after >= before + 2_000_000);
      // What was checkpointed is still what was written.
      const [chunk] = await store.readBuildLog(build!.id);
      assert.equal(chunk?.data.length, 2_000_000);
      // Closing waits for the thread: the store's own connection is the file's last, which
      // leaves no WAL behind and nothing touching the folder.
      await store.close();
      closed = true;
      assert.equal(existsSync(`${file}-wal`), false);
    } finally {
      if (!closed) await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("hands checkpoints back to the connection when the thread fails, and says so", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-checkpoints-"));
    const pragmas: string[] = [];
    const errors: Error[] = [];
    try {
      // A folder is no database: the thread fails as it opens it.
      const checkpoints = startSqliteCheckpoints(dir, { pragma: (source) => pragmas.push(source) }, (err) => errors.push(err));
      await poll("the connection to checkpoint by itself again", () => (pragmas.length === 2 ? true : undefined));
      assert.deepEqual(pragmas, [`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`, `wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`]);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /checkpoint thread failed/);
      // For the reason given: SQLite could not open the folder as a database (the thread's error, as it crosses over).
      assert.equal((errors[0]!.cause as { code?: unknown } | undefined)?.code, "SQLITE_CANTOPEN");
      await checkpoints.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
