import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import pg from "pg";
import { createStore } from "./create-store.js";
import type { Store } from "./types.js";

export type TestDialect = "sqlite" | "postgres";

/** A fresh, empty database for one test; `drop()` removes it. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  return dialect === "sqlite" ? createSqliteDatabase() : createPostgresDatabase();
}

async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-store-"));
  // A folder that does not exist yet: the store creates it.
  return { url: path.join(dir, "data", "slipway.db"), drop: () => rm(dir, { recursive: true, force: true }) };
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env["SLIPWAY_TEST_POSTGRES_URL"];
  if (adminUrl === undefined || adminUrl === "") {
    throw new Error(
      "SLIPWAY_TEST_POSTGRES_URL is not set: point it at a PostgreSQL server's `postgres` database " +
        "(npm test sets it), e.g. postgres://postgres@127.0.0.1:25432/postgres",
    );
  }
  const name = `slipway_test_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (admin) => admin.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (admin) => admin.query(`drop database if exists ${name} with (force)`)),
  };
}

async function withAdmin(url: string, run: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

/** A store test: it gets a fresh store (migrated unless `migrated: false`) and its database. */
export interface StoreCase {
  name: string;
  migrated?: boolean;
  run(store: Store, db: TestDatabase): Promise<void>;
}

/** Runs every case on SQLite and on PostgreSQL, each on a database of its own, dropped after. */
export function describeOnEveryDialect(title: string, cases: readonly StoreCase[]): void {
  for (const dialect of ["sqlite", "postgres"] as const satisfies readonly TestDialect[]) {
    describe(`${title} on ${dialect}`, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const db = await createTestDatabase(dialect);
          const store = createStore({ databaseUrl: db.url });
          try {
            if (c.migrated !== false) await store.migrate();
            await c.run(store, db);
          } finally {
            await store.close();
            await db.drop();
          }
        });
      }
    });
  }
}
