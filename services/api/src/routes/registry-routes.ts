import {
  BUILD_TOKEN_SUBJECT_PREFIX,
  hasRole,
  isSlipwayError,
  isValidRepositoryPath,
  mintRegistryToken,
  parseRegistryScopes,
  safeEqual,
  SlipwayError,
  type RegistryAccess,
  type RegistryTokenSigner,
} from "@slipway/core";
import type { WebhookQueue } from "@slipway/queue";
import type { RepositoryRecord, Store } from "@slipway/store";
import express, { Router, type Request, type Response } from "express";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { roleOn } from "../http/access.js";
import { ANONYMOUS, readBasic, type Credentials, type Principal } from "../http/auth.js";
import { retryAfterSeconds } from "../http/rate-limit.js";
import type { RateLimitDeps } from "./route-deps.js";

export interface RegistryRouteDeps {
  store: Store;
  credentials: Credentials;
  /** Signs the registry's bearer tokens with the key whose certificate the registry trusts. */
  signer: RegistryTokenSigner;
  /** What the registry sends as `Authorization: Bearer …` with its push events. */
  eventsSecret: string;
  /** Pushes by hand are announced to the repository's webhooks there. */
  webhookQueue: Pick<WebhookQueue, "pushed">;
  /** Searches are counted there, per address, across API processes. */
  rateLimit: Pick<RateLimitDeps, "redis" | "prefix">;
}

/** Searches a minute from one address: anyone may search, and a search reads up to 10,000 repositories. */
export const SEARCHES_PER_MINUTE = 60;

/** Distribution's notification envelope. */
const EVENTS_TYPE = "application/vnd.docker.distribution.events.v1+json";
/** Manifests, as opposed to layers: what a `docker push` of a tag ends with. */
const MANIFEST_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

interface RegistryEvent {
  id?: unknown;
  timestamp?: unknown;
  action?: unknown;
  target?: { mediaType?: unknown; digest?: unknown; repository?: unknown; tag?: unknown };
  actor?: { name?: unknown };
}

/** The docker client prints `details` after "unauthorized:", "denied:" or "toomanyrequests:". */
function dockerError(res: Response, err: unknown): void {
  const error = isSlipwayError(err) ? err : new SlipwayError("internal_error", "the token service failed; see Slipway's log");
  const status = error.code === "rate_limited" ? 429 : error.code === "forbidden" ? 403 : error.code === "unauthorized" ? 401 : 500;
  if (error.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(error.retryAfterSeconds));
  if (status === 500) throw err;
  res.status(status).json({ details: error.message, errors: [{ code: status === 429 ? "TOOMANYREQUESTS" : status === 403 ? "DENIED" : "UNAUTHORIZED", message: error.message }] });
}

/** The caller of a registry-facing route: HTTP Basic with a password or a token, or nobody. */
async function callerOf(req: Request, credentials: Credentials): Promise<Principal> {
  const header = req.headers.authorization;
  if (header === undefined) return ANONYMOUS;
  const basic = readBasic(header);
  if (basic === undefined) throw new SlipwayError("unauthorized", "use HTTP Basic: a username with a password or a personal access token");
  return credentials.basic(basic.username, basic.secret, req.ip ?? "unknown");
}

/** "acme/team/app" → namespace "acme/team", name "app" (the registry's name, without its host). */
function splitName(name: string): { namespace: string; name: string } | undefined {
  const slash = name.lastIndexOf("/");
  if (slash <= 0 || slash === name.length - 1) return undefined;
  return { namespace: name.slice(0, slash), name: name.slice(slash + 1) };
}

/**
 * Where the docker CLI meets Slipway's accounts (CONTRACT §8):
 * - `GET /v2/token`: Docker's token authentication for the registry (Distribution's `auth.token` realm);
 * - `GET /v2/` with HTTP Basic: so that `docker login <slipway host>` works for `docker search`;
 * - `GET /v1/_ping`, `GET /v1/search`: Docker's search API over the repositories the caller may see.
 */
export function createRegistryRoutes(deps: RegistryRouteDeps): Router {
  const { store, credentials } = deps;
  const router = Router();
  const searches = new RateLimiterRedis({ storeClient: deps.rateLimit.redis, keyPrefix: `${deps.rateLimit.prefix}:search`, points: SEARCHES_PER_MINUTE, duration: 60 });

  /** Counts a search from the request's address; SlipwayError("rate_limited") over the limit. */
  async function countSearch(req: Request): Promise<void> {
    const retryAfter = await retryAfterSeconds(searches, req.ip ?? "unknown", "searches");
    if (retryAfter !== undefined) {
      throw new SlipwayError("rate_limited", `${SEARCHES_PER_MINUTE} searches a minute at most; try again in ${retryAfter} s`, { retryAfterSeconds: retryAfter });
    }
  }

  /**
   * What the caller may do of what they asked for (the token spec: grant the intersection). Pulls need
   * read; pushes need write and, on a repository that builds automatically, its admin's consent
   * (`manualPush`), as on Docker Hub; a push to a repository that does not exist creates it (private)
   * in a namespace the caller owns. A refused push on a repository the caller can see answers 403 with
   * the reason, which `docker push` prints; anything the caller cannot see is simply not granted.
   */
  async function grant(principal: Principal, wanted: RegistryAccess): Promise<RegistryAccess | undefined> {
    if (wanted.type === "registry") {
      return wanted.name === "catalog" && principal.user?.admin === true && principal.scope === "admin" ? { ...wanted, actions: ["*"] } : undefined;
    }
    if (wanted.type !== "repository") return undefined;
    const parts = splitName(wanted.name);
    if (parts === undefined) return undefined;
    let repo: RepositoryRecord | undefined = await store.findRepository(parts.namespace, parts.name);
    if (repo === undefined) {
      if (!wanted.actions.includes("push") || principal.user === null || principal.scope === "read") return undefined;
      if (!(await store.accounts.ownsNamespace(principal.user.id, parts.namespace))) return undefined;
      // The rules POST /repositories keeps (the registry's own grammar is close, not the same).
      if (!isValidRepositoryPath(parts.name)) return undefined;
      repo = await store.createRepository({ namespace: parts.namespace, name: parts.name, private: true, description: "" }).catch(() => store.findRepository(parts.namespace, parts.name));
      if (repo === undefined) return undefined;
    }
    const role = await roleOn(store, principal, repo);
    if (role === null) return undefined;
    const actions: string[] = [];
    if (wanted.actions.includes("pull")) actions.push("pull");
    if (wanted.actions.includes("push")) {
      const full = `${repo.namespace}/${repo.name}`;
      if (principal.user === null) throw new SlipwayError("unauthorized", `sign in to push to ${full}: docker login with a Slipway username and password or token`);
      if (!hasRole(role, "write")) throw new SlipwayError("forbidden", `pushing to ${full} needs the write role; ${principal.scope === "read" ? "your token's scope is read" : `you have ${role}`}`);
      if (!repo.manualPush && (await store.getSourceOfRepository(repo.id)) !== undefined) {
        throw new SlipwayError("forbidden", `${full} builds automatically; pushes by hand are off (an admin of it can allow them: "manualPush": true)`);
      }
      actions.push("push");
      // Distribution needs pull with push for an upload.
      if (!actions.includes("pull")) actions.push("pull");
    }
    if (wanted.actions.includes("delete") && hasRole(role, "admin")) actions.push("delete");
    return actions.length > 0 ? { type: "repository", name: wanted.name, actions } : undefined;
  }

  router.get("/v2/token", async (req, res) => {
    try {
      const principal = await callerOf(req, credentials);
      const raw = req.query["scope"];
      const scopes = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((s): s is string => typeof s === "string");
      const access: RegistryAccess[] = [];
      for (const wanted of parseRegistryScopes(scopes)) {
        const granted = await grant(principal, wanted);
        if (granted !== undefined) access.push(granted);
      }
      const token = await mintRegistryToken(deps.signer, { subject: principal.user?.username ?? "", access });
      res.setHeader("Cache-Control", "no-store");
      res.json({ token: token.token, access_token: token.token, expires_in: token.expiresIn, issued_at: token.issuedAt });
    } catch (err) {
      dockerError(res, err);
    }
  });

  /** The registry API's base, on Slipway's own port: only so that `docker login` here stores credentials for `docker search`. */
  router.get("/v2/", async (req, res) => {
    const challenge = () => {
      res.setHeader("WWW-Authenticate", 'Basic realm="slipway"');
      res.status(401).json({ errors: [{ code: "UNAUTHORIZED", message: "sign in with a Slipway username and password or token" }] });
    };
    if (req.headers.authorization === undefined) {
      challenge();
      return;
    }
    try {
      await callerOf(req, credentials);
      res.json({});
    } catch (err) {
      if (isSlipwayError(err) && err.code === "unauthorized") challenge();
      else dockerError(res, err);
    }
  });

  /**
   * The registry's push events (Distribution's notifications). A tag pushed by hand fires the
   * repository's webhooks with Docker Hub's payload, as after a build; a build's own push (its token's
   * subject says so) is announced by the build. Each event is recorded once by its id, so the
   * registry's retries send nothing twice; a failure answers 503 and the registry tries again.
   */
  router.post("/registry/events", express.json({ type: [EVENTS_TYPE, "application/json"], limit: "1mb" }), async (req, res) => {
    if (!safeEqual(req.headers.authorization ?? "", `Bearer ${deps.eventsSecret}`)) {
      throw new SlipwayError("unauthorized", "registry events need the events secret (SLIPWAY_REGISTRY_EVENTS_SECRET) as a bearer token");
    }
    const events = (req.body as { events?: unknown } | undefined)?.events;
    if (!Array.isArray(events)) throw new SlipwayError("bad_request", 'a registry notification is {"events": [...]}');
    let pushes = 0;
    for (const event of events as RegistryEvent[]) {
      const target = event.target ?? {};
      const actor = typeof event.actor?.name === "string" ? event.actor.name : "";
      if (event.action !== "push" || typeof event.id !== "string" || !MANIFEST_TYPES.has(String(target.mediaType))) continue;
      // Untagged manifests are the parts of a multi-platform image; the tag's own event follows.
      if (typeof target.tag !== "string" || target.tag === "" || typeof target.digest !== "string" || typeof target.repository !== "string") continue;
      if (actor.startsWith(BUILD_TOKEN_SUBJECT_PREFIX)) continue;
      const parts = splitName(target.repository);
      const repo = parts && (await store.findRepository(parts.namespace, parts.name));
      if (!repo) continue;
      const pushedAt = typeof event.timestamp === "string" && !Number.isNaN(Date.parse(event.timestamp)) ? new Date(event.timestamp).toISOString() : new Date().toISOString();
      const { push } = await store.webhooks.recordPush(repo.id, { eventId: event.id, tag: target.tag, digest: target.digest, pusher: actor, pushedAt });
      // Queued every time (idempotent per push): a retry after a Redis failure must still reach the webhooks.
      try {
        await deps.webhookQueue.pushed(push.id);
      } catch (err) {
        throw new SlipwayError("service_unavailable", "the webhook queue (Redis) is unavailable; the registry sends the event again", { cause: err });
      }
      pushes++;
    }
    res.json({ events: events.length, pushes });
  });

  router.get("/v1/_ping", (_req, res) => {
    res.json(true);
  });

  router.get("/v1/search", async (req, res) => {
    let principal: Principal;
    try {
      await countSearch(req);
      principal = await callerOf(req, credentials);
    } catch (err) {
      dockerError(res, err);
      return;
    }
    const query = typeof req.query["q"] === "string" ? req.query["q"].trim() : "";
    const pageSize = Math.min(100, Math.max(1, Number.parseInt(String(req.query["n"] ?? "25"), 10) || 25));
    const page = Math.max(1, Number.parseInt(String(req.query["page"] ?? "1"), 10) || 1);
    // Every match, by keyset pages: a search answers with the total, which Docker shows.
    const matches: RepositoryRecord[] = [];
    let cursor: string | undefined;
    do {
      const found = await store.listRepositories({
        limit: 100,
        cursor,
        search: query,
        ...(principal.user?.admin === true ? {} : { visibleTo: principal.user }),
      });
      matches.push(...found.items);
      cursor = found.nextCursor ?? undefined;
    } while (cursor !== undefined && matches.length < 10_000);
    const shown = matches.slice((page - 1) * pageSize, page * pageSize);
    const stars = await store.accounts.starCounts(shown.map((repo) => repo.id));
    const results = await Promise.all(
      shown.map(async (repo) => ({
        name: `${repo.namespace}/${repo.name}`,
        description: repo.description,
        star_count: stars.get(repo.id) ?? 0,
        is_official: false,
        is_automated: (await store.getSourceOfRepository(repo.id)) !== undefined,
      })),
    );
    res.json({
      num_results: matches.length,
      query,
      page,
      page_size: pageSize,
      num_pages: Math.max(1, Math.ceil(matches.length / pageSize)),
      results,
    });
  });

  return router;
}
