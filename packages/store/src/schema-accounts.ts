/** Table shapes of the Hub's accounts (issue 7); merged into Database in schema.ts. */
export interface AccountTables {
  namespaces: NamespaceTable;
  users: UserTable;
  organizations: OrganizationTable;
  org_owners: OrgOwnerTable;
  teams: TeamTable;
  team_members: TeamMemberTable;
  team_repositories: TeamRepositoryTable;
  access_tokens: AccessTokenTable;
  stars: StarTable;
}

/** One row per user and organisation: a name is either, never both. */
export interface NamespaceTable {
  name: string;
  kind: "user" | "org";
  created_at: string;
}

export interface UserTable {
  id: string;
  /** Lower case; also the user's namespace. */
  username: string;
  email: string | null;
  /** `scrypt$…` (core's password hash); null: the user cannot sign in with a password. */
  password_hash: string | null;
  admin: number;
  created_at: string;
  updated_at: string;
}

export interface OrganizationTable {
  id: string;
  name: string;
  created_at: string;
}

/** An organisation's owners: admin on every repository in it, and they manage its teams. */
export interface OrgOwnerTable {
  org_id: string;
  user_id: string;
  created_at: string;
}

export interface TeamTable {
  id: string;
  org_id: string;
  name: string;
  created_at: string;
}

export interface TeamMemberTable {
  team_id: string;
  user_id: string;
  created_at: string;
}

/** A team's role on one repository of its organisation: read, write or admin. */
export interface TeamRepositoryTable {
  team_id: string;
  repository_id: string;
  role: string;
  created_at: string;
}

/** A personal access token: only its SHA-256 is kept. */
export interface AccessTokenTable {
  id: string;
  user_id: string;
  name: string;
  scope: string;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface StarTable {
  user_id: string;
  repository_id: string;
  created_at: string;
}
