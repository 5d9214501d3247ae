import { checkNewPassword, isRole, isValidNamespaceName, NAMESPACE_HINT, SlipwayError, verifyPassword, type Role } from "@slipway/core";
import type { AccessTokenRecord, OrganizationRecord, Store, TeamRecord, UserRecord } from "@slipway/store";
import { Router, type Request } from "express";
import { roleOn } from "../http/access.js";
import { ANONYMOUS, newAccessToken, signedIn, type Credentials, type Principal } from "../http/auth.js";
import { asBody, optionalBoolean, optionalString, requiredString } from "../http/input.js";
import type { SessionStore } from "../http/session-store.js";

export interface AccountRouteDeps {
  store: Store;
  credentials: Credentials;
  sessions: SessionStore;
}

function toUserView(user: UserRecord) {
  return { id: user.id, username: user.username, email: user.email, admin: user.admin, createdAt: user.createdAt };
}

function toTokenView(token: AccessTokenRecord) {
  return { id: token.id, name: token.name, scope: token.scope, createdAt: token.createdAt, expiresAt: token.expiresAt, lastUsedAt: token.lastUsedAt };
}

/** What a change to accounts needs: a password, a session, the admin token, or a token of admin scope. */
function fullyTrusted(req: Request): Principal & { user: UserRecord } {
  const principal = signedIn(req);
  if (principal.scope !== "admin") throw new SlipwayError("forbidden", `a token of scope ${principal.scope} cannot change accounts, organisations or tokens`);
  return principal;
}

function administrator(req: Request): Principal & { user: UserRecord } {
  const principal = fullyTrusted(req);
  if (!principal.user.admin) throw new SlipwayError("forbidden", "only administrators manage users");
  return principal;
}

function namespaceName(body: ReturnType<typeof asBody>, field: string): string {
  const value = requiredString(body, field).trim().toLowerCase();
  if (!isValidNamespaceName(value)) throw new SlipwayError("validation_failed", `"${field}" must be ${NAMESPACE_HINT}`);
  return value;
}

/**
 * Users, personal access tokens, organisations and their teams (CONTRACT §8). Organisations and teams
 * that the caller is not part of answer 404, like private repositories.
 */
export function createAccountRoutes(deps: AccountRouteDeps): Router {
  const { store, credentials, sessions } = deps;
  const accounts = store.accounts;
  const router = Router();

  router.post("/users", async (req, res) => {
    administrator(req);
    const body = asBody(req.body);
    const username = namespaceName(body, "username");
    const password = checkNewPassword(body["password"]);
    const user = await accounts.createUser({
      username,
      email: optionalString(body, "email") ?? null,
      passwordHash: await credentials.hashPassword(password),
      admin: optionalBoolean(body, "admin") ?? false,
    });
    res.status(201).json(toUserView(user));
  });

  router.get("/users", async (req, res) => {
    if (!signedIn(req).user.admin) throw new SlipwayError("forbidden", "only administrators list users");
    res.json({ users: (await accounts.listUsers()).map(toUserView) });
  });

  router.get("/users/me", async (req, res) => {
    const { user, scope, via } = signedIn(req);
    const orgs = await accounts.listOrgsOf(user.id);
    res.json({ ...toUserView(user), hasPassword: user.hasPassword, scope, via, orgs: orgs.map((org) => org.name) });
  });

  /**
   * A user changes their own password; the current one is asked for when there is one. Their
   * other dashboard sessions end (whoever held one may have known the old password); the one
   * asking stays signed in. Personal access tokens stay valid until they are deleted, and cannot
   * change the password (a token that expires would otherwise outlive itself through a session).
   */
  router.patch("/users/me", async (req, res) => {
    const { user, sessionId, via } = fullyTrusted(req);
    if (via === "token") throw new SlipwayError("forbidden", "a personal access token cannot change a password: use the current password or a dashboard session");
    const body = asBody(req.body);
    const password = checkNewPassword(body["password"]);
    const stored = await accounts.passwordHashOf(user.id);
    if (stored !== null) {
      const current = optionalString(body, "currentPassword") ?? "";
      if (!(await verifyPassword(current, stored))) throw new SlipwayError("forbidden", '"currentPassword" is not your current password');
    }
    const hash = await credentials.hashPassword(password);
    // Sessions first: if Redis is down, nothing has changed yet.
    await sessions.endSessionsOf(user.id, sessionId);
    await accounts.setPassword(user.id, hash);
    res.json(toUserView(user));
  });

  router.post("/tokens", async (req, res) => {
    const { user, tokenExpiresAt } = fullyTrusted(req);
    const body = asBody(req.body);
    const name = requiredString(body, "name").trim();
    if (name === "" || name.length > 100) throw new SlipwayError("validation_failed", '"name" must be 1–100 characters');
    const scope = body["scope"] ?? "read";
    if (!isRole(scope)) throw new SlipwayError("validation_failed", '"scope" must be "read", "write" or "admin"');
    const expiresAt = optionalString(body, "expiresAt");
    if (expiresAt !== undefined && (Number.isNaN(Date.parse(expiresAt)) || Date.parse(expiresAt) <= Date.now())) {
      throw new SlipwayError("validation_failed", '"expiresAt" must be a date and time in the future (ISO 8601)');
    }
    // A token that expires cannot make itself a longer life: what it mints expires with it at the latest.
    if (tokenExpiresAt !== undefined && tokenExpiresAt !== null && (expiresAt === undefined || Date.parse(expiresAt) > Date.parse(tokenExpiresAt))) {
      throw new SlipwayError("forbidden", `a token that expires (at ${tokenExpiresAt}) can only make tokens that expire no later: give "expiresAt"`);
    }
    const { token, hash } = newAccessToken();
    const record = await accounts.createToken(user.id, { name, scope, tokenHash: hash, expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString() });
    // Shown this once: only its hash is kept.
    res.status(201).json({ ...toTokenView(record), token });
  });

  router.get("/tokens", async (req, res) => {
    const { user } = signedIn(req);
    res.json({ tokens: (await accounts.listTokens(user.id)).map(toTokenView) });
  });

  router.delete("/tokens/:id", async (req, res) => {
    const { user } = fullyTrusted(req);
    if (!(await accounts.deleteToken(user.id, String(req.params["id"])))) throw new SlipwayError("not_found", `no token ${String(req.params["id"])}`);
    res.status(204).end();
  });

  /** The organisation and whether the caller manages it (owner or administrator); 404 when they are not part of it. */
  async function loadOrg(req: Request, manage: boolean): Promise<OrganizationRecord> {
    const { user } = manage ? fullyTrusted(req) : signedIn(req);
    const name = String(req.params["org"]);
    const org = await accounts.findOrg(name);
    const member = org !== undefined && (user.admin || (await accounts.listOrgsOf(user.id)).some((o) => o.id === org.id));
    if (!org || !member) throw new SlipwayError("not_found", `no organisation ${name}`);
    if (manage && !user.admin && !(await accounts.isOrgOwner(org.id, user.id))) throw new SlipwayError("forbidden", `only the owners of ${org.name} manage it`);
    return org;
  }

  async function loadTeam(req: Request, manage: boolean): Promise<{ org: OrganizationRecord; team: TeamRecord }> {
    const org = await loadOrg(req, manage);
    const team = await accounts.findTeam(org.id, String(req.params["team"]));
    if (!team) throw new SlipwayError("not_found", `no team ${String(req.params["team"])} in ${org.name}`);
    return { org, team };
  }

  async function loadUser(name: string): Promise<UserRecord> {
    const user = await accounts.findUser(name);
    if (!user) throw new SlipwayError("not_found", `no user ${name}`);
    return user;
  }

  async function orgView(org: OrganizationRecord) {
    return { name: org.name, createdAt: org.createdAt, owners: await accounts.listOrgOwners(org.id), teams: (await accounts.listTeams(org.id)).map((t) => t.name) };
  }

  /** A team, with the repositories it has access to that the caller may see: a private one's name is not shown to members without read. */
  async function teamView(team: TeamRecord, req: Request) {
    const principal = req.principal ?? ANONYMOUS;
    const repositories = [];
    for (const access of await accounts.listTeamRepositories(team.id)) {
      const repo = await store.getRepository(access.repositoryId);
      if (repo && (await roleOn(store, principal, repo)) !== null) repositories.push({ name: access.name, fullName: `${access.namespace}/${access.name}`, role: access.role });
    }
    return { name: team.name, createdAt: team.createdAt, members: await accounts.listTeamMembers(team.id), repositories };
  }

  router.post("/orgs", async (req, res) => {
    const { user } = fullyTrusted(req);
    const org = await accounts.createOrg(namespaceName(asBody(req.body), "name"), user.id, { adopt: user.admin });
    res.status(201).json(await orgView(org));
  });

  router.get("/orgs", async (req, res) => {
    const { user } = signedIn(req);
    const orgs = user.admin ? await accounts.listAllOrgs() : await accounts.listOrgsOf(user.id);
    res.json({ orgs: await Promise.all(orgs.map(orgView)) });
  });

  router.get("/orgs/:org", async (req, res) => {
    res.json(await orgView(await loadOrg(req, false)));
  });

  router.put("/orgs/:org/owners/:username", async (req, res) => {
    const org = await loadOrg(req, true);
    await accounts.addOrgOwner(org.id, (await loadUser(String(req.params["username"]))).id);
    res.json(await orgView(org));
  });

  router.delete("/orgs/:org/owners/:username", async (req, res) => {
    const org = await loadOrg(req, true);
    if (!(await accounts.removeOrgOwner(org.id, (await loadUser(String(req.params["username"]))).id))) {
      throw new SlipwayError("not_found", `${String(req.params["username"])} is not an owner of ${org.name}`);
    }
    res.json(await orgView(org));
  });

  router.post("/orgs/:org/teams", async (req, res) => {
    const org = await loadOrg(req, true);
    const name = namespaceName(asBody(req.body), "name");
    res.status(201).json(await teamView(await accounts.createTeam(org.id, name), req));
  });

  router.get("/orgs/:org/teams", async (req, res) => {
    const org = await loadOrg(req, false);
    res.json({ teams: await Promise.all((await accounts.listTeams(org.id)).map((team) => teamView(team, req))) });
  });

  router.get("/orgs/:org/teams/:team", async (req, res) => {
    res.json(await teamView((await loadTeam(req, false)).team, req));
  });

  router.delete("/orgs/:org/teams/:team", async (req, res) => {
    await accounts.deleteTeam((await loadTeam(req, true)).team.id);
    res.status(204).end();
  });

  router.put("/orgs/:org/teams/:team/members/:username", async (req, res) => {
    const { team } = await loadTeam(req, true);
    await accounts.addTeamMember(team.id, (await loadUser(String(req.params["username"]))).id);
    res.json(await teamView(team, req));
  });

  router.delete("/orgs/:org/teams/:team/members/:username", async (req, res) => {
    const { team } = await loadTeam(req, true);
    if (!(await accounts.removeTeamMember(team.id, (await loadUser(String(req.params["username"]))).id))) {
      throw new SlipwayError("not_found", `${String(req.params["username"])} is not in team ${team.name}`);
    }
    res.json(await teamView(team, req));
  });

  /** A repository of the organisation, by its name within it. */
  async function orgRepository(org: OrganizationRecord, name: string) {
    const repo = await store.findRepository(org.name, name);
    if (!repo) throw new SlipwayError("not_found", `no repository ${org.name}/${name}`);
    return repo;
  }

  /**
   * Who may give a team access to a repository: the organisation's owners, and the repository's own
   * admins (the "admin: … members"), who must be able to see the team (be in the organisation).
   */
  async function loadTeamAccess(req: Request) {
    const { org, team } = await loadTeam(req, false);
    const principal = fullyTrusted(req);
    const repo = await orgRepository(org, String(req.params["name"]));
    const owner = principal.user.admin || (await accounts.isOrgOwner(org.id, principal.user.id));
    if (!owner) {
      const role = await roleOn(store, principal, repo);
      if (role === null) throw new SlipwayError("not_found", `no repository ${org.name}/${repo.name}`);
      if (role !== "admin") throw new SlipwayError("forbidden", `only the owners of ${org.name} and the admins of ${org.name}/${repo.name} give teams access to it`);
    }
    return { org, team, repo };
  }

  router.put("/orgs/:org/teams/:team/repositories/:name", async (req, res) => {
    const { team, repo } = await loadTeamAccess(req);
    const role: unknown = asBody(req.body)["role"];
    if (!isRole(role)) throw new SlipwayError("validation_failed", '"role" must be "read", "write" or "admin"');
    await accounts.setTeamRepository(team.id, repo.id, role satisfies Role);
    res.json(await teamView(team, req));
  });

  router.delete("/orgs/:org/teams/:team/repositories/:name", async (req, res) => {
    const { org, team, repo } = await loadTeamAccess(req);
    if (!(await accounts.removeTeamRepository(team.id, repo.id))) {
      throw new SlipwayError("not_found", `team ${team.name} has no access to ${org.name}/${repo.name}`);
    }
    res.json(await teamView(team, req));
  });

  return router;
}
