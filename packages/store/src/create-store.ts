import { mkdir } from "node:fs/promises";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, PostgresDialect, type Dialect } from "kysely";
import pg from "pg";
import { KyselyStore } from "./kysely-store.js";
import type { Database } from "./schema.js";
import { startSqliteCheckpoints } from "./sqlite-checkpoints.js";
import { ImmediateSqliteDialect, withStatementCache } from "./sqlite-dialect.js";
import type { Store } from "./types.js";

export interface StoreOptions {
  /**
   * `postgres://…` or `postgresql://…` selects PostgreSQL; `sqlite:<path>`, a plain file path
   * or `:memory:` selects SQLite (the file's folder is created when missing).
   */
  databaseUrl: string;
  /**
   * Errors that fail no call: an idle PostgreSQL connection's (the pool drops it and carries
   * on), SQLite's checkpoint thread's (the connection checkpoints by itself again).
   */
  onError?: (err: Error) => void;
}

/** How long a SQLite writer waits for another process's write lock before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 10_000;

export function createStore(options: StoreOptions): Store {
  const dialect = createDialect(options);
  return new KyselyStore(new Kysely<Database>({ dialect }));
}

function isPostgres(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The Kysely dialect of a database URL (also for tests that drive migrations one by one). */
export function createDialect(options: StoreOptions): Dialect {
  const url = options.databaseUrl;
  if (isPostgres(url)) {
    const pool = new pg.Pool({ connectionString: url });
    // Without a listener an idle connection's error would crash the process.
    pool.on("error", (err) => options.onError?.(err));
    return new PostgresDialect({ pool });
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (scheme && scheme[1]?.toLowerCase() !== "sqlite") {
    // Only the scheme: the rest of the URL may hold a password.
    throw new Error(`unsupported database URL scheme "${scheme[1]}:" (use postgres://, sqlite: or a file path)`);
  }
  const file = toSqliteFile(url);
  return new ImmediateSqliteDialect({
    open: async () => {
      const db = await openSqlite(file);
      if (file === ":memory:") return { database: withStatementCache(db) };
      const checkpoints = startSqliteCheckpoints(file, db, options.onError ?? (() => {}));
      return { database: withStatementCache(db), release: () => checkpoints.stop() };
    },
  });
}

/** `sqlite:data/x.db`, `sqlite:///abs/x.db`, `sqlite::memory:`, `x.db`, `:memory:` → the file. */
function toSqliteFile(url: string): string {
  let file = url.replace(/^sqlite:/i, "");
  if (file.startsWith("//")) file = file.slice(2);
  if (file === "") throw new Error("empty SQLite database path");
  return file;
}

async function openSqlite(file: string): Promise<SqliteDatabase.Database> {
  if (file !== ":memory:") await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  // `timeout` is SQLite's busy_timeout.
  const db = new SqliteDatabase(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  // WAL makes NORMAL durable against application crashes; only a power loss can lose the last commits.
  db.pragma("synchronous = NORMAL");
  return db;
}
