import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type SqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
} from "kysely";

/** A connection as `ImmediateSqliteDialectConfig.open` makes it, and what to do before it closes. */
export interface OpenedSqlite {
  database: SqliteDatabase;
  /** Runs when the database is closed, before the connection is: what else holds the file lets go. */
  release?: () => Promise<void>;
}

export interface ImmediateSqliteDialectConfig extends Omit<SqliteDialectConfig, "database"> {
  /** Opens the connection, once for each Kysely instance the dialect serves. */
  open: () => Promise<OpenedSqlite>;
}

/**
 * Kysely's SQLite dialect with two changes, so that several processes can share one file:
 * - transactions begin IMMEDIATE: they take the write lock up front (waiting up to the
 *   busy_timeout) instead of failing with SQLITE_BUSY when a read lock must be upgraded;
 * - DDL is transactional (SQLite's is), so the migrator runs every pending migration in one
 *   such transaction, which is the lock that keeps two processes from running them twice.
 * And each connection comes with what must let go of the file before it closes (`release`).
 */
export class ImmediateSqliteDialect implements Dialect {
  readonly #config: ImmediateSqliteDialectConfig;

  constructor(config: ImmediateSqliteDialectConfig) {
    this.#config = config;
  }

  createDriver(): Driver {
    // Each driver (each Kysely instance) has a connection of its own, and releases its own.
    let release: (() => Promise<void>) | undefined;
    const database = async (): Promise<SqliteDatabase> => {
      const opened = await this.#config.open();
      release = opened.release;
      return opened.database;
    };
    return new ImmediateSqliteDriver({ ...this.#config, database }, async () => release?.());
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #beforeDestroy: () => Promise<void>;

  constructor(config: SqliteDialectConfig, beforeDestroy: () => Promise<void>) {
    super(config);
    this.#beforeDestroy = beforeDestroy;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }

  override async destroy(): Promise<void> {
    await this.#beforeDestroy();
    await super.destroy();
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * The database with its prepared statements kept, most recently used first: Kysely prepares
 * every query anew, and preparing costs more than running most of Slipway's queries. Safe
 * because better-sqlite3 runs one statement at a time to completion.
 */
export function withStatementCache(db: { prepare(sql: string): SqliteStatement; close(): void }, max = 500): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement !== undefined) {
        statements.delete(sql);
      } else {
        statement = db.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
