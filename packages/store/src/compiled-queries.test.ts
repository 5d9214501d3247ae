import assert from "node:assert/strict";
import { describe, it } from "node:test";
import SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { CompiledQueries } from "./compiled-queries.js";
import type { Database } from "./schema.js";

interface ThreeColumns {
  t: { a: string | null; b: string | null; c: string | null };
}

/** A table of three columns in memory, behind Kysely as the store uses it. */
async function database(): Promise<Kysely<ThreeColumns>> {
  const db = new Kysely<ThreeColumns>({ dialect: new SqliteDialect({ database: new SqliteDatabase(":memory:") }) });
  await db.schema.createTable("t").addColumn("a", "text").addColumn("b", "text").addColumn("c", "text").execute();
  return db;
}

describe("compiled multi-row INSERTs", () => {
  it("keep one SQL per columns and row count: rows of other columns, or in another order, are never bound to it", async () => {
    const db = await database();
    const compiled = new CompiledQueries();
    const insert = (rows: Partial<ThreeColumns["t"]>[]) => compiled.insert(db as unknown as Kysely<Database>, "insertT", rows, () => db.insertInto("t").values(rows));
    await insert([{ a: "a1", b: "b1" }]);
    await insert([{ b: "b2", c: "c2" }]);
    await insert([{ c: "c3", a: "a3" }]);
    await insert([{ a: "a4", b: "b4" }]);
    const rows = await db.selectFrom("t").selectAll().execute();
    assert.deepEqual(rows, [
      { a: "a1", b: "b1", c: null },
      { a: null, b: "b2", c: "c2" },
      { a: "a3", b: null, c: "c3" },
      { a: "a4", b: "b4", c: null },
    ]);
    await db.destroy();
  });

  it("refuse rows that do not all have the first row's columns", async () => {
    const db = await database();
    const compiled = new CompiledQueries();
    for (const rows of [
      [{ a: "a1", b: "b1" }, { a: "a2", b: "b2", c: "c2" }],
      [{ a: "a1", b: "b1" }, { a: "a2", c: "c2" }],
      [{ a: "a1", b: "b1" }, { b: "b2", a: "a2" }],
    ]) {
      await assert.rejects(
        compiled.insert(db as unknown as Kysely<Database>, "insertT", rows, () => db.insertInto("t").values(rows)),
        /do not all have the same columns/,
        JSON.stringify(rows),
      );
    }
    assert.deepEqual(await db.selectFrom("t").selectAll().execute(), []);
    await db.destroy();
  });
});
