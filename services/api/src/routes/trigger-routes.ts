import { createHash } from "node:crypto";
import {
  generateToken,
  httpStatusOf,
  nothingToBuildMessage,
  parseTriggerBody,
  selectTriggerTargets,
  SlipwayError,
} from "@slipway/core";
import type { NewBuild, RepositoryRecord, TriggerRecord } from "@slipway/store";
import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from "express";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { sendError, toSlipwayError } from "../http/errors.js";
import { retryAfterSeconds } from "../http/rate-limit.js";
import { asBody, requiredString } from "../http/input.js";
import { toQueuedBuildView } from "../views.js";
import { loadRepository } from "../http/access.js";
import type { RouteDeps } from "./route-deps.js";

/** Docker Hub's trigger URL; Express matches it with or without the trailing slash. */
const CALL_PATH = "/api/build/v1/source/:sourceId/trigger/:token/call";
/** Trigger bodies are a few fields of JSON. */
const MAX_CALL_BODY = 16 * 1024;
const MAX_NAME = 100;
/** One answer, to the byte, for an unknown source, a wrong token, a revoked trigger and another repository's. */
const NO_SUCH_TRIGGER = "no such trigger URL: check it, or create a new trigger (a revoked trigger's URL stops working)";

/** The token segment of a trigger URL, wherever a path holds one (routing ignores case). */
const TOKEN_SEGMENT = /(\/trigger\/)[^/?#]+/gi;

/** A trigger URL with its token replaced, for logs. */
export function redactTriggerUrl(url: string): string {
  return url.replace(TOKEN_SEGMENT, "$1[redacted]");
}

/** pino-http's request serializer: a trigger URL's token never reaches a log line. */
export function redactTriggerToken<T>(req: T): T {
  const fields = req as { url?: unknown; params?: unknown };
  if (typeof fields.url === "string") fields.url = redactTriggerUrl(fields.url);
  if (typeof fields.params === "object" && fields.params !== null && "token" in fields.params) {
    // A copy: the serialized request shares its params object with the live request.
    fields.params = { ...fields.params, token: "[redacted]" };
  }
  return req;
}

export function triggerUrl(publicUrl: string, sourceId: string, token: string): string {
  return `${publicUrl}/api/build/v1/source/${encodeURIComponent(sourceId)}/trigger/${token}/call/`;
}

/** Hex SHA-256: the token is 32 random bytes, so a slow password hash would add nothing. */
function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function toTriggerView(trigger: TriggerRecord) {
  return { id: trigger.id, name: trigger.name, createdAt: trigger.createdAt, lastUsedAt: trigger.lastUsedAt };
}

interface CallContext {
  trigger: TriggerRecord;
  repo: RepositoryRecord;
}

/**
 * Trigger URLs (CONTRACT §4). `call` is the public, token-authenticated route
 * (`POST /api/build/v1/source/{sourceId}/trigger/{token}/call/`), mounted before any auth;
 * `api` is mounted under /api/v1 behind the admin token.
 */
export function createTriggerRoutes(deps: RouteDeps): { call: Router; api: Router } {
  const { store, builds, logger } = deps;
  const perMinute = deps.rateLimit.triggerCallsPerMinute;
  // A fixed one-minute window per trigger, counted in Redis so that every API process shares it.
  const limiter = new RateLimiterRedis({
    storeClient: deps.rateLimit.redis,
    keyPrefix: `${deps.rateLimit.prefix}:trigger-calls`,
    points: perMinute,
    duration: 60,
  });

  /**
   * The live trigger whose token this is, if it belongs to the source's repository. Looked up
   * by the token's hash: a random 32-byte token has no near misses for timing to reveal.
   */
  async function findTrigger(sourceId: string, token: string): Promise<CallContext | undefined> {
    // Both lookups, whichever part is wrong, so the work done is the same for every miss.
    const [source, trigger] = await Promise.all([store.getSource(sourceId), store.triggers.findByTokenHash(hashToken(token))]);
    if (!source || !trigger || trigger.repositoryId !== source.repositoryId) return undefined;
    const repo = await store.getRepository(source.repositoryId);
    return repo && { trigger, repo };
  }

  const context = (res: Response): CallContext => res.locals["trigger"] as CallContext;

  const authenticate: RequestHandler = async (req, res, next) => {
    const found = await findTrigger(String(req.params["sourceId"]), String(req.params["token"]));
    if (!found) throw new SlipwayError("not_found", NO_SUCH_TRIGGER);
    res.locals["trigger"] = found;
    next();
  };

  const rateLimit: RequestHandler = async (_req, res, next) => {
    const { trigger } = context(res);
    const retryAfter = await retryAfterSeconds(limiter, trigger.id, "trigger calls");
    if (retryAfter !== undefined) {
      res.setHeader("Retry-After", String(retryAfter));
      res.status(429).json({
        error: {
          code: "rate_limited",
          message: `this trigger takes ${perMinute} call(s) a minute; try again in ${retryAfter} s`,
        },
      });
      return;
    }
    await store.triggers.markUsed(trigger.id);
    next();
  };

  async function handleCall(req: Request, res: Response): Promise<void> {
    const { trigger, repo } = context(res);
    const parsed = parseTriggerBody(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    if (!parsed.ok) throw new SlipwayError(parsed.code, parsed.message);
    const selection = selectTriggerTargets(await store.listRules(repo.id), parsed.request);
    const planned: NewBuild[] = [];
    for (const target of selection.targets) {
      const result = await builds.plan(
        repo,
        { sourceType: target.sourceType, sourceName: target.sourceName },
        // No commit: the worker builds the head it finds when it clones.
        { commit: "", commitMessage: "" },
        { type: "trigger", trigger: trigger.id },
        { autobuildOnly: false, ...(target.ruleIds ? { ruleIds: new Set(target.ruleIds) } : {}) },
      );
      planned.push(...result.builds);
    }
    const repository = `${repo.namespace}/${repo.name}`;
    // As Docker Hub does, a call that builds nothing is still taken (202): scripts written for it
    // go on working; the answer says why, as a webhook that builds nothing does (CONTRACT §3).
    if (planned.length === 0) {
      const ignored = nothingToBuildMessage(repository, parsed.request, selection);
      logger.info({ trigger: trigger.id, repository, ignored }, "trigger built nothing");
      res.status(202).json({ builds: [], skipped: selection.skipped, ignored });
      return;
    }
    const started = await builds.start(planned);
    logger.info({ trigger: trigger.id, repository, builds: started.map((b) => b.id) }, "trigger queued builds");
    res.status(202).json({ builds: started.map(toQueuedBuildView), skipped: selection.skipped });
  }

  /** Errors of this route are answered here, so that no log line carries the request's path. */
  const onCallError: ErrorRequestHandler = (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const error = toSlipwayError(err);
    if (httpStatusOf(error.code) >= 500) {
      logger.error({ err: error.cause ?? error, method: req.method, path: redactTriggerUrl(req.path) }, "trigger call failed");
    }
    sendError(res, error);
  };

  const call = Router();
  // The token is checked before the body is read: an unknown trigger's answer never depends on it.
  call.post(CALL_PATH, authenticate, rateLimit, express.raw({ type: () => true, limit: MAX_CALL_BODY }), handleCall);
  call.use(CALL_PATH, onCallError);

  const api = Router();

  api.get("/repositories/:namespace/:name/triggers", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    res.json({ triggers: (await store.triggers.list(repo.id)).map(toTriggerView) });
  });

  api.post("/repositories/:namespace/:name/triggers", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const name = requiredString(asBody(req.body), "name");
    // Control characters are exactly what this pattern is for.
    // eslint-disable-next-line no-control-regex
    if (name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
      throw new SlipwayError("validation_failed", `"name" must be at most ${MAX_NAME} characters, without control characters`);
    }
    const source = await store.getSourceOfRepository(repo.id);
    if (!source) {
      throw new SlipwayError("conflict", `${repo.namespace}/${repo.name} has no linked source: link one (PUT …/source) before creating trigger URLs`);
    }
    const token = generateToken(32);
    const trigger = await store.triggers.create(repo.id, { name, tokenHash: hashToken(token) });
    // The only time the URL is shown: the store keeps the token's hash alone.
    res.status(201).json({ id: trigger.id, name: trigger.name, url: triggerUrl(deps.publicUrl, source.id, token), createdAt: trigger.createdAt });
  });

  api.delete("/repositories/:namespace/:name/triggers/:triggerId", async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const id = String(req.params["triggerId"]);
    const trigger = await store.triggers.get(id);
    if (!trigger || trigger.repositoryId !== repo.id || !(await store.triggers.revoke(id))) {
      throw new SlipwayError("not_found", `no trigger ${id} in ${repo.namespace}/${repo.name}`);
    }
    res.status(204).end();
  });

  return { call, api };
}
