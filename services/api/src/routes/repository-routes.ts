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
import type { RepositoryPatch, RepositoryRecord, Store } from "@slipway/store";
import { Router, type Request } from "express";
import type { BuildService } from "../builds/build-service.js";
import { asBody, optionalBoolean, optionalObject, optionalString, pageLimit, queryString, requiredString, type Body } from "../http/input.js";
import { toRepositoryView, toRuleView, toSourceView } from "../views.js";

export interface RepositoryRouteDeps {
  store: Store;
  builds: BuildService;
  secrets: SecretBox;
  publicUrl: string;
}

/** Finds `/:namespace/:name`, or answers 404. */
export async function loadRepository(store: Store, req: Request): Promise<RepositoryRecord> {
  const { namespace, name } = req.params as { namespace: string; name: string };
  const repo = await store.findRepository(namespace, name);
  if (!repo) throw new SlipwayError("not_found", `no repository ${namespace}/${name}`);
  return repo;
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
  const view = (repo: RepositoryRecord) => toRepositoryView(repo, builds.imageOf(repo));

  router.get("/repositories", async (req, res) => {
    const page = await store.listRepositories({ limit: pageLimit(req.query["limit"]), cursor: queryString(req.query["cursor"]) });
    res.json({ repositories: page.items.map(view), nextCursor: page.nextCursor });
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
    const repo = await store.createRepository({
      namespace,
      name,
      private: optionalBoolean(body, "private") ?? false,
      description: optionalString(body, "description") ?? "",
      ...registryFields(body, secrets),
    });
    res.status(201).json(view(repo));
  });

  router.get("/repositories/:namespace/:name", async (req, res) => {
    res.json(view(await loadRepository(store, req)));
  });

  router.patch("/repositories/:namespace/:name", async (req, res) => {
    const repo = await loadRepository(store, req);
    const body = asBody(req.body);
    const patch: RepositoryPatch = { ...registryFields(body, secrets) };
    const isPrivate = optionalBoolean(body, "private");
    if (isPrivate !== undefined) patch.private = isPrivate;
    const description = optionalString(body, "description");
    if (description !== undefined) patch.description = description;
    if ("registry" in body && body["registry"] === null) {
      Object.assign(patch, { registryUrl: null, registryUsername: null, registryPasswordEnc: null });
    }
    const updated = await store.updateRepository(repo.id, patch);
    if (!updated) throw new SlipwayError("not_found", `no repository ${repo.namespace}/${repo.name}`);
    res.json(view(updated));
  });

  router.delete("/repositories/:namespace/:name", async (req, res) => {
    const repo = await loadRepository(store, req);
    await store.deleteRepository(repo.id);
    res.status(204).end();
  });

  router.get("/repositories/:namespace/:name/source", async (req, res) => {
    const repo = await loadRepository(store, req);
    const source = await store.getSourceOfRepository(repo.id);
    if (!source) throw new SlipwayError("not_found", `${repo.namespace}/${repo.name} has no linked source`);
    res.json(toSourceView(source, deps.publicUrl));
  });

  router.put("/repositories/:namespace/:name/source", async (req, res) => {
    const repo = await loadRepository(store, req);
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
    const repo = await loadRepository(store, req);
    res.json({ rules: (await store.listRules(repo.id)).map(toRuleView) });
  });

  router.post("/repositories/:namespace/:name/rules", async (req, res) => {
    const repo = await loadRepository(store, req);
    const input = validateRuleInput(req.body ?? {}, "create");
    if (!input.ok) throw new SlipwayError("validation_failed", input.message);
    const rule = await store.createRule(repo.id, input.value as RuleInput);
    res.status(201).json(toRuleView(rule));
  });

  /** Dry run: which rules a branch or tag matches, and the tags each would push. */
  router.post("/repositories/:namespace/:name/rules/match", async (req, res) => {
    const repo = await loadRepository(store, req);
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
    const repo = await loadRepository(store, req);
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
