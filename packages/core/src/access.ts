/**
 * Roles on a repository (issue 7), weakest first: read (pull, see builds), write (push, start,
 * cancel and retry builds), admin (settings, source, rules, webhooks, variables, triggers, which
 * teams have access; deletion).
 * A personal access token's scope caps its user's roles the same way.
 */
export const ROLES = ["read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

const rank = (role: Role | null): number => (role === null ? -1 : ROLES.indexOf(role));

/** Whether `role` is at least `needed`; null (no role) never is. */
export function hasRole(role: Role | null, needed: Role): boolean {
  return rank(role) >= rank(needed);
}

/** The stronger of two roles. */
export function strongerRole(a: Role | null, b: Role | null): Role | null {
  return rank(a) >= rank(b) ? a : b;
}

/** The weaker of two roles: a role capped by a token's scope. */
export function weakerRole(a: Role | null, b: Role | null): Role | null {
  return rank(a) <= rank(b) ? a : b;
}

/** What a caller holds on one repository before privacy and token scope are applied. */
export interface RepositoryGrant {
  /** Site administrator: admin everywhere. */
  administrator: boolean;
  /** The repository lives in the caller's own namespace, or one of the caller's organisations owns it. */
  owner: boolean;
  /** The strongest role the caller's teams have on it. */
  teamRole: Role | null;
}

/**
 * The caller's effective role on a repository: owners and administrators are admin, team members
 * have their teams' strongest role, anyone (signed in or not) may read a public repository; a
 * token's scope caps the result. null: the repository is invisible to the caller (answer 404).
 */
export function effectiveRole(grant: RepositoryGrant | null, isPrivate: boolean, scope: Role = "admin"): Role | null {
  let role: Role | null = null;
  if (grant !== null) role = grant.administrator || grant.owner ? "admin" : grant.teamRole;
  if (!isPrivate) role = strongerRole(role, "read");
  return weakerRole(role, scope);
}

/** Usernames and organisation names: what Docker Hub allows in a namespace, lower case. */
export const NAMESPACE_PATTERN = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/;
export const NAMESPACE_HINT = "2–64 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit";

export function isValidNamespaceName(name: string): boolean {
  return name.length >= 2 && NAMESPACE_PATTERN.test(name);
}
