import { effectiveRole, hasRole, SlipwayError, type Role } from "@slipway/core";
import type { BuildRecord, RepositoryRecord, Store } from "@slipway/store";
import type { Request } from "express";
import { ANONYMOUS, type Principal } from "./auth.js";

/** The caller's role on the repository; null when they may not even see it. */
export async function roleOn(store: Store, principal: Principal, repo: Pick<RepositoryRecord, "id" | "namespace" | "private">): Promise<Role | null> {
  const grant = principal.user === null ? null : await store.accounts.grantOn(principal.user, repo);
  return effectiveRole(grant, repo.private, principal.scope);
}

/**
 * Checks the caller's role on a repository they asked for: one they cannot see answers 404 like one
 * that does not exist (a private name must not leak); one they see but may not change answers 403.
 */
export async function requireRole(store: Store, req: Request, repo: RepositoryRecord, needed: Role): Promise<RepositoryRecord> {
  const role = await roleOn(store, req.principal ?? ANONYMOUS, repo);
  if (role === null) throw new SlipwayError("not_found", `no repository ${repo.namespace}/${repo.name}`);
  // Anonymous and visible (public): signing in is what may help, so 401, as for other anonymous writes.
  if (!hasRole(role, needed) && !req.principal?.user) throw new SlipwayError("unauthorized", `sign in first: this needs the ${needed} role on ${repo.namespace}/${repo.name}`);
  if (!hasRole(role, needed)) {
    const what = req.principal?.via === "token" && req.principal.scope !== "admin" ? `your token's scope (${req.principal.scope}) allows` : "you have";
    throw new SlipwayError("forbidden", `this needs the ${needed} role on ${repo.namespace}/${repo.name}; ${what} ${role}`);
  }
  return repo;
}

/** Finds `/:namespace/:name` and checks the caller's role on it (see requireRole). */
export async function loadRepository(store: Store, req: Request, needed: Role): Promise<RepositoryRecord> {
  const { namespace, name } = req.params as { namespace: string; name: string };
  const repo = await store.findRepository(namespace, name);
  if (!repo) throw new SlipwayError("not_found", `no repository ${namespace}/${name}`);
  return requireRole(store, req, repo, needed);
}

/** Finds `/builds/:id` and checks the caller's role on its repository: a build of a repository they cannot see does not exist for them. */
export async function loadBuild(store: Store, req: Request, needed: Role): Promise<BuildRecord> {
  const id = String(req.params["id"]);
  const build = await store.getBuild(id);
  const repo = build && (await store.getRepository(build.repositoryId));
  if (!build || !repo || (await roleOn(store, req.principal ?? ANONYMOUS, repo)) === null) throw new SlipwayError("not_found", `no build ${id}`);
  await requireRole(store, req, repo, needed);
  return build;
}
