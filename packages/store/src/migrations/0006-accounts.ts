import type { Kysely, Migration } from "kysely";

/** The Hub's accounts, organisations, teams, tokens and stars (issue 7). Portable DDL only, like 0001_initial. */
export const accountsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("namespaces")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("users")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("username", "text", (c) => c.notNull().unique().references("namespaces.name"))
      .addColumn("email", "text")
      .addColumn("password_hash", "text")
      .addColumn("admin", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("organizations")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull().unique().references("namespaces.name"))
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("org_owners")
      .addColumn("org_id", "text", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("org_owners_pkey", ["org_id", "user_id"])
      .execute();
    await db.schema.createIndex("org_owners_user_id_idx").on("org_owners").column("user_id").execute();
    await db.schema
      .createTable("teams")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("org_id", "text", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addUniqueConstraint("teams_org_id_name_key", ["org_id", "name"])
      .execute();
    await db.schema
      .createTable("team_members")
      .addColumn("team_id", "text", (c) => c.notNull().references("teams.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("team_members_pkey", ["team_id", "user_id"])
      .execute();
    await db.schema.createIndex("team_members_user_id_idx").on("team_members").column("user_id").execute();
    await db.schema
      .createTable("team_repositories")
      .addColumn("team_id", "text", (c) => c.notNull().references("teams.id").onDelete("cascade"))
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("team_repositories_pkey", ["team_id", "repository_id"])
      .execute();
    await db.schema.createIndex("team_repositories_repository_id_idx").on("team_repositories").column("repository_id").execute();
    await db.schema
      .createTable("access_tokens")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text")
      .addColumn("last_used_at", "text")
      .execute();
    await db.schema.createIndex("access_tokens_user_id_idx").on("access_tokens").columns(["user_id", "id"]).execute();
    await db.schema
      .createTable("stars")
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("repository_id", "text", (c) => c.notNull().references("repositories.id").onDelete("cascade"))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("stars_pkey", ["user_id", "repository_id"])
      .execute();
    await db.schema.createIndex("stars_repository_id_idx").on("stars").column("repository_id").execute();
    // Docker Hub refuses a `docker push` by hand to a repository with automated builds unless its admin allows it.
    await db.schema.alterTable("repositories").addColumn("manual_push", "integer", (c) => c.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable("repositories").dropColumn("manual_push").execute();
    for (const table of ["stars", "access_tokens", "team_repositories", "team_members", "teams", "org_owners", "organizations", "users", "namespaces"]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
