import { CompiledQuery, type Compilable, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * The queries of the webhook path, compiled once. Kysely builds and compiles every query anew,
 * which for a short SELECT, or an INSERT of many rows, costs more than running it. A query kept
 * here is compiled by its builder the first time its `key` (its shape: the table, the number
 * of rows) is seen; later calls send the same SQL with new parameters, which SQLite's statement
 * cache then finds prepared. The builder must take its parameters in the order they are given:
 * the first compilation checks it, so a mismatch fails at once rather than binding wrongly.
 */
export class CompiledQueries {
  readonly #sql = new Map<string, string>();

  async execute<R>(db: Kysely<Database>, key: string, parameters: readonly unknown[], build: () => Compilable<R>): Promise<R[]> {
    const sql = this.#sql.get(key);
    if (sql !== undefined) return (await db.executeQuery<R>(CompiledQuery.raw(sql, [...parameters]))).rows;
    const compiled = build().compile();
    const same = compiled.parameters.length === parameters.length && compiled.parameters.every((p, i) => p === parameters[i]);
    if (!same) throw new Error(`compiled query "${key}": its builder does not take the parameters in the order given`);
    this.#sql.set(key, compiled.sql);
    return (await db.executeQuery(compiled)).rows;
  }
}
