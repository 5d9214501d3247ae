import { isRole, newId, SlipwayError, strongerRole, type RepositoryGrant, type Role } from "@slipway/core";
import type { ExpressionBuilder, Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";
import type { AccessTokenTable, TeamTable, UserTable } from "./schema-accounts.js";

export interface UserRecord {
  id: string;
  username: string;
  email: string | null;
  /** Site administrator: every repository, every account. */
  admin: boolean;
  /** Whether the user can sign in with a password (the first administrator may have none: the admin token is theirs). */
  hasPassword: boolean;
  createdAt: string;
}

export interface NewUser {
  username: string;
  email?: string | null;
  passwordHash: string | null;
  admin?: boolean;
}

export interface AccessTokenRecord {
  id: string;
  userId: string;
  name: string;
  scope: Role;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface OrganizationRecord {
  id: string;
  name: string;
  createdAt: string;
}

export interface TeamRecord {
  id: string;
  orgId: string;
  name: string;
  createdAt: string;
}

export type Namespace = { kind: "user"; user: UserRecord } | { kind: "org"; org: OrganizationRecord };

/** The Hub's accounts (issue 7), reached as `store.accounts`. */
export interface AccountStore {
  /** SlipwayError("conflict") when the name is taken by a user or an organisation. */
  createUser(input: NewUser): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | undefined>;
  findUser(username: string): Promise<UserRecord | undefined>;
  /** The stored password hash; null when the user has none. */
  passwordHashOf(userId: string): Promise<string | null>;
  setPassword(userId: string, passwordHash: string): Promise<void>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;

  createToken(userId: string, input: { name: string; scope: Role; tokenHash: string; expiresAt: string | null }): Promise<AccessTokenRecord>;
  /** The token with that hash and its user, unexpired; undefined otherwise. Records the use. */
  useToken(tokenHash: string, now?: Date): Promise<{ token: AccessTokenRecord; user: UserRecord } | undefined>;
  listTokens(userId: string): Promise<AccessTokenRecord[]>;
  deleteToken(userId: string, id: string): Promise<boolean>;

  /**
   * The organisation, with `ownerId` as its first owner. SlipwayError("conflict") when the name is taken,
   * or holds repositories (made before accounts) and `adopt` is not set: an administrator's call only.
   */
  createOrg(name: string, ownerId: string, options?: { adopt?: boolean }): Promise<OrganizationRecord>;
  findOrg(name: string): Promise<OrganizationRecord | undefined>;
  listOrgsOf(userId: string): Promise<OrganizationRecord[]>;
  listAllOrgs(): Promise<OrganizationRecord[]>;
  isOrgOwner(orgId: string, userId: string): Promise<boolean>;
  /** The owners' usernames. */
  listOrgOwners(orgId: string): Promise<string[]>;
  addOrgOwner(orgId: string, userId: string): Promise<void>;
  /** False when the user was not an owner; SlipwayError("conflict") for the last owner. */
  removeOrgOwner(orgId: string, userId: string): Promise<boolean>;

  createTeam(orgId: string, name: string): Promise<TeamRecord>;
  findTeam(orgId: string, name: string): Promise<TeamRecord | undefined>;
  listTeams(orgId: string): Promise<TeamRecord[]>;
  deleteTeam(teamId: string): Promise<boolean>;
  /** Idempotent. */
  addTeamMember(teamId: string, userId: string): Promise<void>;
  removeTeamMember(teamId: string, userId: string): Promise<boolean>;
  listTeamMembers(teamId: string): Promise<string[]>;
  /** Sets the team's role on the repository (creating or replacing it). */
  setTeamRepository(teamId: string, repositoryId: string, role: Role): Promise<void>;
  removeTeamRepository(teamId: string, repositoryId: string): Promise<boolean>;
  listTeamRepositories(teamId: string): Promise<Array<{ repositoryId: string; namespace: string; name: string; role: Role }>>;

  /** Who owns a namespace; undefined for a name no user or organisation has. */
  findNamespace(name: string): Promise<Namespace | undefined>;
  /** Whether the user may create repositories in the namespace: their own, or an organisation they own. */
  ownsNamespace(userId: string, namespace: string): Promise<boolean>;
  /** What the user holds on the repository (core's effectiveRole turns it into a role). */
  grantOn(user: UserRecord, repository: { id: string; namespace: string }): Promise<RepositoryGrant>;

  /** Idempotent; false when the repository does not exist. */
  star(userId: string, repositoryId: string): Promise<boolean>;
  unstar(userId: string, repositoryId: string): Promise<void>;
  /** Stars per repository id (0 for none). */
  starCounts(repositoryIds: readonly string[]): Promise<Map<string, number>>;
  /** Which of these repositories the user starred. */
  starredBy(userId: string, repositoryIds: readonly string[]): Promise<Set<string>>;
}

function toUserRecord(row: UserTable): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    admin: row.admin !== 0,
    hasPassword: row.password_hash !== null,
    createdAt: row.created_at,
  };
}

function toTokenRecord(row: AccessTokenTable): AccessTokenRecord {
  if (!isRole(row.scope)) throw new SlipwayError("internal_error", `access token ${row.id} has an unknown scope ${row.scope}`);
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    scope: row.scope,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

function toTeamRecord(row: TeamTable): TeamRecord {
  return { id: row.id, orgId: row.org_id, name: row.name, createdAt: row.created_at };
}

const now = (): string => new Date().toISOString();

/** A unique-constraint violation, as either database reports it. */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
}

/** Claims a namespace name in the transaction; SlipwayError("conflict") when a user or organisation has it. */
async function claimNamespace(trx: Transaction<Database>, name: string, kind: "user" | "org", at: string, adopt = false): Promise<void> {
  // Repositories made before accounts existed have a namespace nobody owns: whoever claimed its name
  // would own them. Only an administrator's organisation may adopt them.
  if (!adopt) {
    const held = await trx.selectFrom("repositories").select("id").where("namespace", "=", name).executeTakeFirst();
    if (held !== undefined) throw new SlipwayError("conflict", `the name ${name} holds repositories already; an administrator can make it an organisation`);
  }
  const claimed = await trx
    .insertInto("namespaces")
    .values({ name, kind, created_at: at })
    .onConflict((oc) => oc.column("name").doNothing())
    .returning("name")
    .executeTakeFirst();
  if (claimed === undefined) throw new SlipwayError("conflict", `the name ${name} is taken by a user or an organisation`);
}

export function createAccountStore(db: Kysely<Database>): AccountStore {
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

  const accounts: AccountStore = {
    async createUser(input) {
      const at = now();
      return db.transaction().execute(async (trx) => {
        await claimNamespace(trx, input.username, "user", at);
        const row = await trx
          .insertInto("users")
          .values({
            id: newId(),
            username: input.username,
            email: input.email ?? null,
            password_hash: input.passwordHash,
            admin: input.admin ? 1 : 0,
            created_at: at,
            updated_at: at,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toUserRecord(row);
      });
    },

    async getUser(id) {
      const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toUserRecord(row);
    },

    async findUser(username) {
      const row = await db.selectFrom("users").selectAll().where("username", "=", username.toLowerCase()).executeTakeFirst();
      return row && toUserRecord(row);
    },

    async passwordHashOf(userId) {
      const row = await db.selectFrom("users").select("password_hash").where("id", "=", userId).executeTakeFirst();
      return row?.password_hash ?? null;
    },

    async setPassword(userId, passwordHash) {
      await db.updateTable("users").set({ password_hash: passwordHash, updated_at: now() }).where("id", "=", userId).execute();
    },

    async listUsers() {
      const rows = await db.selectFrom("users").selectAll().orderBy("username").execute();
      return rows.map(toUserRecord);
    },

    async countUsers() {
      const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number | string>().as("n")).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async createToken(userId, input) {
      const row = await db
        .insertInto("access_tokens")
        .values({
          id: newId(),
          user_id: userId,
          name: input.name,
          scope: input.scope,
          token_hash: input.tokenHash,
          created_at: now(),
          expires_at: input.expiresAt,
          last_used_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toTokenRecord(row);
    },

    async useToken(tokenHash, at = new Date()) {
      const row = await db
        .selectFrom("access_tokens")
        .innerJoin("users", "users.id", "access_tokens.user_id")
        .selectAll("access_tokens")
        .select(["users.username", "users.email", "users.password_hash", "users.admin", "users.created_at as user_created_at", "users.updated_at"])
        .where("access_tokens.token_hash", "=", tokenHash)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      if (row.expires_at !== null && row.expires_at <= at.toISOString()) return undefined;
      // Last use to the minute: enough for "last used", and no write on every call.
      const minute = at.toISOString().slice(0, 16);
      if (row.last_used_at?.slice(0, 16) !== minute) {
        await db.updateTable("access_tokens").set({ last_used_at: at.toISOString() }).where("id", "=", row.id).execute();
      }
      const user = toUserRecord({
        id: row.user_id,
        username: row.username,
        email: row.email,
        password_hash: row.password_hash,
        admin: row.admin,
        created_at: row.user_created_at,
        updated_at: row.updated_at,
      });
      return { token: toTokenRecord({ ...row, last_used_at: at.toISOString() }), user };
    },

    async listTokens(userId) {
      const rows = await db.selectFrom("access_tokens").selectAll().where("user_id", "=", userId).orderBy("id").execute();
      return rows.map(toTokenRecord);
    },

    async deleteToken(userId, id) {
      const result = await db.deleteFrom("access_tokens").where("user_id", "=", userId).where("id", "=", id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async createOrg(name, ownerId, options = {}) {
      const at = now();
      return db.transaction().execute(async (trx) => {
        await claimNamespace(trx, name, "org", at, options.adopt === true);
        const row = await trx.insertInto("organizations").values({ id: newId(), name, created_at: at }).returningAll().executeTakeFirstOrThrow();
        await trx.insertInto("org_owners").values({ org_id: row.id, user_id: ownerId, created_at: at }).execute();
        return { id: row.id, name: row.name, createdAt: row.created_at };
      });
    },

    async findOrg(name) {
      const row = await db.selectFrom("organizations").selectAll().where("name", "=", name.toLowerCase()).executeTakeFirst();
      return row && { id: row.id, name: row.name, createdAt: row.created_at };
    },

    async listOrgsOf(userId) {
      const rows = await db
        .selectFrom("organizations")
        .selectAll()
        .where((eb) =>
          eb.or([
            eb("id", "in", eb.selectFrom("org_owners").select("org_id").where("user_id", "=", userId)),
            eb("id", "in", eb.selectFrom("teams").innerJoin("team_members", "team_members.team_id", "teams.id").select("teams.org_id").where("team_members.user_id", "=", userId)),
          ]),
        )
        .execute();
      return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at })).sort(byName);
    },

    async listAllOrgs() {
      const rows = await db.selectFrom("organizations").selectAll().execute();
      return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at })).sort(byName);
    },

    async isOrgOwner(orgId, userId) {
      const row = await db.selectFrom("org_owners").select("user_id").where("org_id", "=", orgId).where("user_id", "=", userId).executeTakeFirst();
      return row !== undefined;
    },

    async listOrgOwners(orgId) {
      const rows = await db.selectFrom("org_owners").innerJoin("users", "users.id", "org_owners.user_id").select("users.username").where("org_owners.org_id", "=", orgId).execute();
      return rows.map((row) => row.username).sort();
    },

    async addOrgOwner(orgId, userId) {
      await db
        .insertInto("org_owners")
        .values({ org_id: orgId, user_id: userId, created_at: now() })
        .onConflict((oc) => oc.columns(["org_id", "user_id"]).doNothing())
        .execute();
    },

    async removeOrgOwner(orgId, userId) {
      return db.transaction().execute(async (trx) => {
        const owners = await trx.selectFrom("org_owners").select("user_id").where("org_id", "=", orgId).execute();
        if (!owners.some((owner) => owner.user_id === userId)) return false;
        if (owners.length === 1) throw new SlipwayError("conflict", "an organisation keeps at least one owner: add another first");
        await trx.deleteFrom("org_owners").where("org_id", "=", orgId).where("user_id", "=", userId).execute();
        return true;
      });
    },

    async createTeam(orgId, name) {
      try {
        const row = await db.insertInto("teams").values({ id: newId(), org_id: orgId, name, created_at: now() }).returningAll().executeTakeFirstOrThrow();
        return toTeamRecord(row);
      } catch (err) {
        if (isUniqueViolation(err)) throw new SlipwayError("conflict", `the organisation already has a team ${name}`);
        throw err;
      }
    },

    async findTeam(orgId, name) {
      const row = await db.selectFrom("teams").selectAll().where("org_id", "=", orgId).where("name", "=", name).executeTakeFirst();
      return row && toTeamRecord(row);
    },

    async listTeams(orgId) {
      const rows = await db.selectFrom("teams").selectAll().where("org_id", "=", orgId).execute();
      return rows.map(toTeamRecord).sort(byName);
    },

    async deleteTeam(teamId) {
      const result = await db.deleteFrom("teams").where("id", "=", teamId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async addTeamMember(teamId, userId) {
      await db
        .insertInto("team_members")
        .values({ team_id: teamId, user_id: userId, created_at: now() })
        .onConflict((oc) => oc.columns(["team_id", "user_id"]).doNothing())
        .execute();
    },

    async removeTeamMember(teamId, userId) {
      const result = await db.deleteFrom("team_members").where("team_id", "=", teamId).where("user_id", "=", userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async listTeamMembers(teamId) {
      const rows = await db.selectFrom("team_members").innerJoin("users", "users.id", "team_members.user_id").select("users.username").where("team_members.team_id", "=", teamId).execute();
      return rows.map((row) => row.username).sort();
    },

    async setTeamRepository(teamId, repositoryId, role) {
      await db
        .insertInto("team_repositories")
        .values({ team_id: teamId, repository_id: repositoryId, role, created_at: now() })
        .onConflict((oc) => oc.columns(["team_id", "repository_id"]).doUpdateSet({ role }))
        .execute();
    },

    async removeTeamRepository(teamId, repositoryId) {
      const result = await db.deleteFrom("team_repositories").where("team_id", "=", teamId).where("repository_id", "=", repositoryId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async listTeamRepositories(teamId) {
      const rows = await db
        .selectFrom("team_repositories")
        .innerJoin("repositories", "repositories.id", "team_repositories.repository_id")
        .select(["team_repositories.repository_id", "team_repositories.role", "repositories.namespace", "repositories.name"])
        .where("team_repositories.team_id", "=", teamId)
        .execute();
      return rows
        .filter((row) => isRole(row.role))
        .map((row) => ({ repositoryId: row.repository_id, namespace: row.namespace, name: row.name, role: row.role as Role }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    async findNamespace(name) {
      const lower = name.toLowerCase();
      const user = await accounts.findUser(lower);
      if (user) return { kind: "user", user };
      const org = await accounts.findOrg(lower);
      return org && { kind: "org", org };
    },

    async ownsNamespace(userId, namespace) {
      const user = await accounts.getUser(userId);
      if (user?.username === namespace) return true;
      const org = await accounts.findOrg(namespace);
      return org !== undefined && (await accounts.isOrgOwner(org.id, userId));
    },

    async grantOn(user, repository) {
      if (user.admin) return { administrator: true, owner: true, teamRole: null };
      if (repository.namespace === user.username) return { administrator: false, owner: true, teamRole: null };
      const ownerRow = await db
        .selectFrom("org_owners")
        .innerJoin("organizations", "organizations.id", "org_owners.org_id")
        .select("org_owners.user_id")
        .where("organizations.name", "=", repository.namespace)
        .where("org_owners.user_id", "=", user.id)
        .executeTakeFirst();
      if (ownerRow !== undefined) return { administrator: false, owner: true, teamRole: null };
      const roles = await db
        .selectFrom("team_repositories")
        .innerJoin("team_members", "team_members.team_id", "team_repositories.team_id")
        .select("team_repositories.role")
        .where("team_repositories.repository_id", "=", repository.id)
        .where("team_members.user_id", "=", user.id)
        .execute();
      let teamRole: Role | null = null;
      for (const { role } of roles) if (isRole(role)) teamRole = strongerRole(teamRole, role);
      return { administrator: false, owner: false, teamRole };
    },

    async star(userId, repositoryId) {
      const repo = await db.selectFrom("repositories").select("id").where("id", "=", repositoryId).executeTakeFirst();
      if (repo === undefined) return false;
      await db
        .insertInto("stars")
        .values({ user_id: userId, repository_id: repositoryId, created_at: now() })
        .onConflict((oc) => oc.columns(["user_id", "repository_id"]).doNothing())
        .execute();
      return true;
    },

    async unstar(userId, repositoryId) {
      await db.deleteFrom("stars").where("user_id", "=", userId).where("repository_id", "=", repositoryId).execute();
    },

    async starCounts(repositoryIds) {
      const counts = new Map<string, number>(repositoryIds.map((id) => [id, 0]));
      if (repositoryIds.length === 0) return counts;
      const rows = await db
        .selectFrom("stars")
        .select(["repository_id", (eb) => eb.fn.countAll<number | string>().as("n")])
        .where("repository_id", "in", [...repositoryIds])
        .groupBy("repository_id")
        .execute();
      for (const row of rows) counts.set(row.repository_id, Number(row.n));
      return counts;
    },

    async starredBy(userId, repositoryIds) {
      if (repositoryIds.length === 0) return new Set();
      const rows = await db.selectFrom("stars").select("repository_id").where("user_id", "=", userId).where("repository_id", "in", [...repositoryIds]).execute();
      return new Set(rows.map((row) => row.repository_id));
    },
  };
  return accounts;
}

/**
 * The repositories a caller may see, as a condition on `repositories`: public ones, and for a signed-in
 * user the private ones in their namespace, in organisations they own, or given to one of their teams.
 * Site administrators are not filtered at all (the caller leaves the condition out).
 */
export function visibleTo(eb: ExpressionBuilder<Database, "repositories">, user: { id: string; username: string } | null) {
  if (user === null) return eb("repositories.private", "=", 0);
  return eb.or([
    eb("repositories.private", "=", 0),
    eb("repositories.namespace", "=", user.username),
    eb(
      "repositories.namespace",
      "in",
      eb.selectFrom("organizations").innerJoin("org_owners", "org_owners.org_id", "organizations.id").select("organizations.name").where("org_owners.user_id", "=", user.id),
    ),
    eb(
      "repositories.id",
      "in",
      eb
        .selectFrom("team_repositories")
        .innerJoin("team_members", "team_members.team_id", "team_repositories.team_id")
        .select("team_repositories.repository_id")
        .where("team_members.user_id", "=", user.id),
    ),
  ]);
}
