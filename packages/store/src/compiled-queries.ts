import { CompiledQuery, type Compilable, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * The queries of the webhook path, compiled once. Kysely builds and compiles every query anew,
 * which for a short SELECT, or an INSERT of many rows, costs more than running it. A query kept
 * here is compiled by its builder the first time its `key` (its shape: for an INSERT, the table,
 * its columns and the number of rows) is seen; later calls send the same SQL with new
 * parameters, which SQLite's statement cache then finds prepared. The builder must take its
 * parameters in the order they are given: the first compilation checks it, so a mismatch fails
 * at once rather than binding wrongly.
 */
export class CompiledQueries {
  readonly #sql = new Map<string, string>();

  /**
   * A multi-row INSERT of `rows` (built by `build` from the same rows): keyed by its columns, in
   * order, and its number of rows, so an INSERT of other columns is never sent another's SQL.
   * Every row must have the first row's columns.
   */
  async insert<R>(db: Kysely<Database>, name: string, rows: readonly object[], build: () => Compilable<R>): Promise<R[]> {
    const columns = Object.keys(rows[0] ?? {});
    const parameters: unknown[] = [];
    for (const row of rows) {
      const keys = Object.keys(row);
      if (keys.length !== columns.length || keys.some((key, i) => key !== columns[i])) {
        throw new Error(`compiled query "${name}": its rows do not all have the same columns`);
      }
      for (const column of columns) parameters.push((row as Record<string, unknown>)[column]);
    }
    return this.execute(db, `${name}(${columns.join(",")})×${rows.length}`, parameters, build);
  }

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
