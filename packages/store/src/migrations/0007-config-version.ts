import { PostgresAdapter, sql, type Kysely, type Migration } from "kysely";

/** The tables a webhook delivery reads to decide what to build (see Store.configVersion). */
const WATCHED = ["repositories", "sources", "rules"] as const;

/**
 * A counter that every change to the repositories, sources and rules moves, in the same
 * transaction as the change, whoever makes it (any process, a cascade included): the API keeps
 * what webhook deliveries read in memory and drops it when the counter has moved.
 * The counter is kept by database triggers, so it cannot be forgotten by a new way of writing
 * those tables; triggers are the one part of the schema that is not portable DDL, so each
 * database gets its own here.
 */
export const configVersionMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("config_version")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("version", "integer", (c) => c.notNull())
      .execute();
    await sql`insert into config_version (id, version) values (1, 0)`.execute(db);
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`
        create function config_version_bump() returns trigger language plpgsql as $$
        begin
          update config_version set version = version + 1 where id = 1;
          return null;
        end
        $$`.execute(db);
      for (const table of WATCHED) {
        await sql`
          create trigger ${sql.raw(`config_version_${table}`)} after insert or update or delete on ${sql.table(table)}
          for each statement execute function config_version_bump()`.execute(db);
      }
      return;
    }
    for (const table of WATCHED) {
      for (const event of ["insert", "update", "delete"] as const) {
        await sql`
          create trigger ${sql.raw(`config_version_${table}_${event}`)} after ${sql.raw(event)} on ${sql.table(table)}
          begin update config_version set version = version + 1 where id = 1; end`.execute(db);
      }
    }
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      for (const table of WATCHED) await sql`drop trigger ${sql.raw(`config_version_${table}`)} on ${sql.table(table)}`.execute(db);
      await sql`drop function config_version_bump()`.execute(db);
    } else {
      for (const table of WATCHED) {
        for (const event of ["insert", "update", "delete"] as const) await sql`drop trigger ${sql.raw(`config_version_${table}_${event}`)}`.execute(db);
      }
    }
    await db.schema.dropTable("config_version").execute();
  },
};
