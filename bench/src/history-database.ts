/**
 * The history benchmark's direct line to the store's database, beside Slipway's own: bulk
 * inserts of build rows (far faster than any API), ANALYZE, and the plan and in-database time
 * of the list query Slipway runs (packages/store kysely-store.ts `listBuilds`, same SQL shape).
 */
import { statSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import type { HistoryRow } from "./history-rows.js";

/** One page of a repository's builds, as `GET …/builds` asks the store for it. */
export interface ListQuery {
  repositoryId: string;
  limit: number;
  status?: string;
  sourceName?: string;
  cursor?: string;
}

export interface QueryPlan {
  /** The plan, one line per node. */
  lines: string[];
  /** The query's own time in the database (no HTTP, no JSON): median of a few runs, ms. */
  medianMs: number;
}

export interface HistoryDatabase {
  readonly kind: "SQLite" | "PostgreSQL";
  /** Inserts the rows in big transactions; answers how many. */
  insert(rows: Iterable<HistoryRow>): Promise<number>;
  /** Planner statistics, as a long-lived database would have them (VACUUM too on PostgreSQL). */
  analyze(): Promise<void>;
  /** The database's size on disk, bytes. */
  sizeBytes(): Promise<number>;
  /**
   * The query's plan and time; with `without`, as if that index were not there (dropped in a
   * transaction that is rolled back; Slipway must not be querying meanwhile).
   */
  explain(query: ListQuery, without?: string): Promise<QueryPlan>;
  close(): Promise<void>;
}

const COLUMNS = [
  "id", "repository_id", "repository", "rule_id", "delivery_id", "status", "cause", "source_type", "source_name",
  "commit_sha", "commit_message", "tags", "dockerfile", "context", "cache", "build_args", "image", "digest", "error",
  "queued_at", "started_at", "finished_at", "log_seq",
] as const satisfies readonly (keyof HistoryRow)[];
const EXPLAIN_RUNS = 21;

/**
 * The list query in the order Kysely writes it: repository, status, source name, cursor,
 * newest first, one row more than the page to know whether there is a next one.
 */
function toListSql(query: ListQuery, placeholder: (n: number) => string): { sql: string; params: unknown[] } {
  const params: unknown[] = [query.repositoryId];
  const where = [`"repository_id" = ${placeholder(1)}`];
  const add = (column: string, value: unknown): void => {
    params.push(value);
    where.push(`"${column}" ${column === "id" ? "<" : "="} ${placeholder(params.length)}`);
  };
  if (query.status !== undefined) add("status", query.status);
  if (query.sourceName !== undefined) add("source_name", query.sourceName);
  if (query.cursor !== undefined) add("id", query.cursor);
  params.push(query.limit + 1);
  return { sql: `select * from "builds" where ${where.join(" and ")} order by "id" desc limit ${placeholder(params.length)}`, params };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function* chunksOf<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A second connection to Slipway's SQLite file (WAL: Slipway's API keeps reading while this writes). */
export function createSqliteHistory(file: string): HistoryDatabase {
  const db = new Database(file, { timeout: 10_000 });
  db.pragma("journal_mode = WAL");
  // Only this connection's commits: seeding need not survive a power loss.
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  // As Slipway's own connections do: the rows must name a real repository and rules.
  db.pragma("foreign_keys = ON");
  return {
    kind: "SQLite",
    async insert(rows) {
      const insert = db.prepare(`insert into builds (${COLUMNS.join(", ")}) values (${COLUMNS.map((c) => `@${c}`).join(", ")})`);
      const iterator = rows[Symbol.iterator]();
      // Rows go from the generator straight to SQLite: held in an array, a million of them
      // would keep the garbage collector busier than SQLite.
      const insertSome = db.transaction((most: number): number => {
        for (let n = 0; n < most; n++) {
          const next = iterator.next();
          if (next.done === true) return n;
          insert.run(next.value);
        }
        return most;
      });
      let count = 0;
      for (let n = insertSome(100_000); n > 0; n = insertSome(100_000)) {
        count += n;
        // Each transaction blocks the event loop for seconds: let sockets' news (a closed
        // keep-alive connection to Slipway) through before the next.
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Folds the WAL back into the file, so Slipway's reads do not wade through it.
      db.pragma("wal_checkpoint(TRUNCATE)");
      return count;
    },
    async analyze() {
      db.exec("ANALYZE");
    },
    async sizeBytes() {
      return statSync(file).size;
    },
    async explain(query, without) {
      const { sql, params } = toListSql(query, () => "?");
      if (without !== undefined) db.exec("BEGIN IMMEDIATE");
      try {
        if (without !== undefined) db.exec(`DROP INDEX "${without}"`);
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
        const statement = db.prepare(sql);
        const times: number[] = [];
        for (let i = 0; i < EXPLAIN_RUNS; i++) {
          const start = performance.now();
          statement.all(...params);
          times.push(performance.now() - start);
        }
        return { lines: plan.map((row) => row.detail), medianMs: median(times) };
      } finally {
        if (without !== undefined) db.exec("ROLLBACK");
      }
    },
    async close() {
      db.close();
    },
  };
}

export function createPostgresHistory(url: string): HistoryDatabase {
  const clients = new Set<pg.Client>();
  /** A connection that close() ends, also while a query is under way (an interrupted run). */
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url });
    // Without a listener, a connection the server ends (DROP DATABASE … WITH (FORCE)) would
    // crash the process; the query under way, if any, fails with the same error anyway.
    client.on("error", (err) => console.error(`history bench: a PostgreSQL connection ended: ${err.message}`));
    clients.add(client);
    await client.connect();
    return client;
  };
  let main: Promise<pg.Client> | undefined;
  const ready = (): Promise<pg.Client> => (main ??= connect());
  return {
    kind: "PostgreSQL",
    async insert(rows) {
      // Two connections, each inserting 25,000 rows from JSON while this process makes the
      // next chunk: PostgreSQL's side is the slow one, and it gets both cores.
      const pair = [await ready(), await connect()];
      const inflight: Promise<unknown>[] = pair.map(() => Promise.resolve());
      const sql = `insert into builds (${COLUMNS.join(", ")}) select ${COLUMNS.join(", ")} from json_populate_recordset(null::builds, $1::json)`;
      let count = 0;
      let turn = 0;
      for (const chunk of chunksOf(rows, 25_000)) {
        const json = JSON.stringify(chunk);
        const slot = turn++ % pair.length;
        await inflight[slot];
        const query = pair[slot]!.query(sql, [json]);
        // Awaited later; until then a failure must not count as unhandled.
        query.catch(() => undefined);
        inflight[slot] = query;
        count += chunk.length;
      }
      await Promise.all(inflight);
      clients.delete(pair[1]!);
      await pair[1]!.end();
      return count;
    },
    async analyze() {
      const client = await ready();
      // What autovacuum would have done by now (visibility map, hint bits, statistics), and
      // the checkpoint that would follow, so its writes do not fall into the measurements.
      await client.query("VACUUM (ANALYZE) builds");
      await client.query("CHECKPOINT");
    },
    async sizeBytes() {
      const client = await ready();
      const result = await client.query<{ size: string }>("select pg_database_size(current_database()) as size");
      return Number(result.rows[0]?.size);
    },
    async explain(query, without) {
      const client = await ready();
      if (without === undefined) return explainPostgres(client, query);
      await client.query("BEGIN");
      try {
        await client.query(`DROP INDEX "${without}"`);
        return await explainPostgres(client, query);
      } finally {
        await client.query("ROLLBACK");
      }
    },
    async close() {
      const open = [...clients];
      clients.clear();
      await Promise.all(open.map((client) => client.end()));
    },
  };
}

async function explainPostgres(client: pg.Client, query: ListQuery): Promise<QueryPlan> {
  const { sql, params } = toListSql(query, (n) => `$${n}`);
  const result = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
  const times: number[] = [];
  for (let i = 0; i < EXPLAIN_RUNS; i++) {
    const start = performance.now();
    await client.query(sql, params);
    times.push(performance.now() - start);
  }
  // The planner's own lines (a few hundredths of a millisecond) are left out.
  const lines: string[] = [];
  let planning = false;
  for (const { "QUERY PLAN": line } of result.rows) {
    if (line.startsWith("Planning")) {
      planning = line === "Planning:";
      continue;
    }
    if (planning && /^\s+Buffers:/.test(line)) continue;
    planning = false;
    lines.push(line);
  }
  return { lines, medianMs: median(times) };
}
