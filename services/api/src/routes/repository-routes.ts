import {
  DEFAULT_RULE,
  generateToken,
  isProvider,
  isValidRepositoryPath,
  matchRule,
  planBuilds,
  PROVIDERS,
  SlipwayError,
  validateRuleInput,
  type RuleInput,
  type SecretBox,
} from "@slipway/core";
import type { RepositoryPatch, RepositoryRecord, Store, UserRecord } from "@slipway/store";
import { Router, type Request } from "express";
import type { BuildService } from "../builds/build-service.js";
import { asBody, optionalBoolean, optionalObject, optionalString, pageLimit, queryString, requiredString, type Body } from "../http/input.js";
import { toRepositoryView, toRuleView, toSourceView } from "../views.js";
import { loadRepository, roleOn } from "../http/access.js";
import { ANONYMOUS, signedIn, type Principal } from "../http/auth.js";

export interface RepositoryRouteDeps {
  store: Store;
  builds: BuildService;
  secrets: SecretBox;
  publicUrl: string;
}

function registryFields(body: Body, secrets: SecretBox): RepositoryPatch {
  const registry = optionalObject(body, "registry");
  if (registry === undefined) return {};
  const url = requiredString(registry, "url").replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const username = optionalString(registry, "username");
  const password = optionalString(registry, "password");
  return {
    registryUrl: url,
    registryUsername: username ?? null,
    registryPasswordEnc: password ? secrets.seal(password) : null,
  };
}

function httpUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SlipwayError("validation_failed", `"${field}" must be an http(s) URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new SlipwayError("validation_failed", `"${field}" must be an http(s) URL (got ${url.protocol})`);
  }
  if (url.username || url.password) {
    throw new SlipwayError("validation_failed", `"${field}" must not hold credentials: give them as "credentials"`);
  }
  return url.toString();
}

export function createRepositoryRoutes(deps: RepositoryRouteDeps): Router {
  const { store, builds, secrets } = deps;
  const router = Router();
  /** The repositories as answers, with their stars, whether the caller starred them, and the caller's role. */
  async function views(repos: RepositoryRecord[], principal: Principal) {
    const ids = repos.map((repo) => repo.id);
    const counts = await store.accounts.starCounts(ids);
    const starred = principal.user === null ? new Set<string>() : await store.accounts.starredBy(principal.user.id, ids);
    const roles = await Promise.all(repos.map((repo) => roleOn(store, principal, repo)));
    return repos.map((repo, i) =>
      toRepositoryView(repo, builds.imageOf(repo), { starCount: counts.get(repo.id) ?? 0, starred: starred.has(repo.id), role: roles[i] ?? null }),
    );
  }
  const view = async (repo: RepositoryRecord, req: Request) => (await views([repo], req.principal ?? ANONYMOUS))[0]!;

  router.get("/repositories", async (req, res) => {
    const principal = req.principal ?? ANONYMOUS;
    const page = await store.listRepositories({
      limit: pageLimit(req.query["limit"]),
      cursor: queryString(req.query["cursor"]),
      search: queryString(req.query["q"]),
      // Administrators see everything; anyone else what is public or theirs.
      ...(principal.user?.admin === true ? {} : { visibleTo: principal.user }),
    });
    res.json({ repositories: await views(page.items, principal), nextCursor: page.nextCursor });
  });

  router.post("/repositories", async (req, res) => {
    const body = asBody(req.body);
    const namespace = requiredString(body, "namespace");
    const name = requiredString(body, "name");
    for (const [field, value] of [["namespace", namespace], ["name", name]] as const) {
      if (!isValidRepositoryPath(value)) {
        throw new SlipwayError(
          "validation_failed",
          `"${field}" must be lowercase letters and digits, optionally separated by ".", "_", "__" or "-"`,
        );
      }
    }
    await mayCreateIn(signedIn(req), namespace);
    const repo = await store.createRepository({
      namespace,
      name,
      private: optionalBoolean(body, "private") ?? false,
      description: optionalString(body, "description") ?? "",
      manualPush: optionalBoolean(body, "manualPush") ?? false,
      ...registryFields(body, secrets),
    });
    res.status(201).json(await view(repo, req));
  });

  /**
   * Repositories are made in the caller's own namespace or in an organisation they own. An administrator
   * may make one anywhere: a namespace nobody has yet becomes an organisation the administrator owns.
   */
  async function mayCreateIn(principal: Principal & { user: UserRecord }, namespace: string): Promise<void> {
    if (principal.scope === "read") throw new SlipwayError("forbidden", "a read-only token cannot create repositories");
    if (await store.accounts.ownsNamespace(principal.user.id, namespace)) return;
    if (principal.user.admin) {
      if ((await store.accounts.findNamespace(namespace)) === undefined) await store.accounts.createOrg(namespace, principal.user.id, { adopt: true });
      return;
    }
    throw new SlipwayError("forbidden", `you can create repositories in ${principal.user.username}/ and in organisations you own, not in ${namespace}/`);
  }

  router.get("/repositories/:namespace/:name", async (req, res) => {
    res.json(await view(await loadRepository(store, req, "read"), req));
  });

  router.put("/repositories/:namespace/:name/star", async (req, res) => {
    const { user } = signedIn(req);
    const repo = await loadRepository(store, req, "read");
    await store.accounts.star(user.id, repo.id);
    res.json(await view(repo, req));
  });

  router.delete("/repositories/:namespace/:name/star", async (req, res) => {
    const { user } = signedIn(req);
    const repo = await loadRepository(store, req, "read");
    await store.accounts.unstar(user.id, repo.id);
    res.json(await view(repo, req));
  });

  router.patch("/repositories/:namespace/:name", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const body = asBody(req.body);
    const patch: RepositoryPatch = { ...registryFields(body, secrets) };
    const isPrivate = optionalBoolean(body, "private");
    if (isPrivate !== undefined) patch.private = isPrivate;
    const description = optionalString(body, "description");
    if (description !== undefined) patch.description = description;
    const manualPush = optionalBoolean(body, "manualPush");
    if (manualPush !== undefined) patch.manualPush = manualPush;
    if ("registry" in body && body["registry"] === null) {
      Object.assign(patch, { registryUrl: null, registryUsername: null, registryPasswordEnc: null });
    }
    const updated = await store.updateRepository(repo.id, patch);
    if (!updated) throw new SlipwayError("not_found", `no repository ${repo.namespace}/${repo.name}`);
    res.json(await view(updated, req));
  });

  router.delete("/repositories/:namespace/:name", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    await store.deleteRepository(repo.id);
    res.status(204).end();
  });

  router.get("/repositories/:namespace/:name/source", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const source = await store.getSourceOfRepository(repo.id);
    if (!source) throw new SlipwayError("not_found", `${repo.namespace}/${repo.name} has no linked source`);
    res.json(toSourceView(source, deps.publicUrl));
  });

  router.put("/repositories/:namespace/:name/source", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const body = asBody(req.body);
    const provider = requiredString(body, "provider");
    if (!isProvider(provider)) {
      throw new SlipwayError("validation_failed", `"provider" must be one of ${PROVIDERS.join(", ")}`);
    }
    const repository = requiredString(body, "repository").replace(/^\/+|\/+$/g, "");
    const cloneUrl = httpUrl(requiredString(body, "cloneUrl"), "cloneUrl");
    const secret = optionalString(body, "secret") ?? generateToken(32);
    const credentials = optionalObject(body, "credentials");
    let credentialsEnc: string | null = null;
    if (credentials) {
      const password = optionalString(credentials, "password") ?? optionalString(credentials, "token");
      if (!password) throw new SlipwayError("validation_failed", `"credentials" needs a "password" or a "token"`);
      const username = optionalString(credentials, "username");
      credentialsEnc = secrets.seal(JSON.stringify(username ? { username, password } : { password }));
    }
    const existed = (await store.getSourceOfRepository(repo.id)) !== undefined;
    const source = await store.setSource(repo.id, {
      provider,
      repository,
      cloneUrl,
      secretEnc: secret === "" ? null : secrets.seal(secret),
      credentialsEnc,
    });
    if ((await store.listRules(repo.id)).length === 0) await store.createRule(repo.id, DEFAULT_RULE);
    res.status(existed ? 200 : 201).json(toSourceView(source, deps.publicUrl, secret === "" ? null : secret));
  });

  router.get("/repositories/:namespace/:name/rules", async (req, res) => {
    const repo = await loadRepository(store, req, "read");
    res.json({ rules: (await store.listRules(repo.id)).map(toRuleView) });
  });

  router.post("/repositories/:namespace/:name/rules", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const input = validateRuleInput(req.body ?? {}, "create");
    if (!input.ok) throw new SlipwayError("validation_failed", input.message);
    const rule = await store.createRule(repo.id, input.value as RuleInput);
    res.status(201).json(toRuleView(rule));
  });

  /** Dry run: which rules a branch or tag matches, and the tags each would push. */
  router.post("/repositories/:namespace/:name/rules/match", async (req, res) => {
    const repo = await loadRepository(store, req, "read");
    const body = asBody(req.body);
    const sourceType = requiredString(body, "sourceType").toLowerCase();
    if (sourceType !== "branch" && sourceType !== "tag") {
      throw new SlipwayError("validation_failed", `"sourceType" must be "branch" or "tag"`);
    }
    const sourceName = requiredString(body, "sourceName");
    const rules = await store.listRules(repo.id);
    const matches = rules.flatMap((rule) => {
      const match = matchRule(rule, sourceType, sourceName);
      if (match === undefined) return [];
      return [
        "tags" in match
          ? { ruleId: rule.id, autobuild: rule.autobuild, tags: match.tags, dockerfile: rule.dockerfile, context: rule.context }
          : { ruleId: rule.id, autobuild: rule.autobuild, tags: [], invalidTag: match.invalidTag, dockerfile: rule.dockerfile, context: rule.context },
      ];
    });
    const { plans } = planBuilds(rules, sourceType, sourceName, { autobuildOnly: true });
    res.json({
      sourceType,
      sourceName,
      matches,
      // What a push would queue (autobuild rules): rules sharing a Dockerfile and context share one build.
      builds: plans.map((plan) => ({ ruleIds: plan.ruleIds, tags: plan.tags, dockerfile: plan.dockerfile, context: plan.context })),
    });
  });

  async function loadRule(req: Request) {
    const repo = await loadRepository(store, req, "admin");
    const rule = await store.getRule(String(req.params["ruleId"]));
    if (!rule || rule.repositoryId !== repo.id) {
      throw new SlipwayError("not_found", `no rule ${String(req.params["ruleId"])} in ${repo.namespace}/${repo.name}`);
    }
    return rule;
  }

  router.patch("/repositories/:namespace/:name/rules/:ruleId", async (req, res) => {
    const rule = await loadRule(req);
    // A patch is checked as the whole rule it makes, so that e.g. a new tag template is
    // checked against the rule's source name.
    const { id: _id, createdAt: _createdAt, repositoryId: _repositoryId, ...current } = rule;
    const input = validateRuleInput({ ...current, ...asBody(req.body) }, "create");
    if (!input.ok) throw new SlipwayError("validation_failed", input.message);
    const updated = await store.updateRule(rule.id, input.value);
    if (!updated) throw new SlipwayError("not_found", `no rule ${rule.id}`);
    res.json(toRuleView(updated));
  });

  router.delete("/repositories/:namespace/:name/rules/:ruleId", async (req, res) => {
    const rule = await loadRule(req);
    await store.deleteRule(rule.id);
    res.status(204).end();
  });

  return router;
}
