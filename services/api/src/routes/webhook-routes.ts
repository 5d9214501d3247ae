import { checkWebhookUrl, SlipwayError, type TargetPolicy } from "@slipway/core";
import type { RepositoryRecord, WebhookDeliveryRecord, WebhookRecord } from "@slipway/store";
import { Router, type Request } from "express";
import { asBody, optionalString, pageLimit, queryString, requiredString } from "../http/input.js";
import { loadRepository } from "../http/access.js";
import type { RouteDeps } from "./route-deps.js";

const MAX_NAME = 100;
const MAX_URL = 2048;
const MAX_SECRET = 1024;

/** A webhook as the API shows it: the secret is write-only. */
function toWebhookView(hook: WebhookRecord) {
  return { id: hook.id, name: hook.name, url: hook.url, hasSecret: hook.secretEnc !== null, createdAt: hook.createdAt };
}

function toDeliveryView(delivery: WebhookDeliveryRecord) {
  return {
    id: delivery.id,
    event: delivery.event,
    tag: delivery.tag,
    buildId: delivery.buildId,
    pushId: delivery.pushId,
    status: delivery.status,
    attempts: delivery.attempts.map((a) => ({
      attempt: a.attempt,
      at: a.at,
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
      response: a.response,
    })),
    createdAt: delivery.createdAt,
  };
}

/** Outgoing webhooks and their deliveries (CONTRACT §5 and §7), under /api/v1. */
export function createWebhookRoutes(deps: RouteDeps): Router {
  const { store, webhookQueue, logger } = deps;
  const policy: TargetPolicy = { allowPrivate: deps.webhookAllowPrivate };
  const router = Router();
  const base = "/repositories/:namespace/:name/webhooks";

  /** The repository's webhook `:webhookId`, or 404 (a webhook of another repository is not found either). */
  async function loadWebhook(req: Request): Promise<{ repo: RepositoryRecord; hook: WebhookRecord }> {
    const repo = await loadRepository(store, req, "admin");
    const id = String(req.params["webhookId"]);
    const hook = await store.webhooks.get(id);
    if (!hook || hook.repositoryId !== repo.id) throw new SlipwayError("not_found", `no webhook ${id} in ${repo.namespace}/${repo.name}`);
    return { repo, hook };
  }

  async function loadDelivery(req: Request): Promise<WebhookDeliveryRecord> {
    const { hook } = await loadWebhook(req);
    const id = String(req.params["deliveryId"]);
    const delivery = await store.webhooks.getDelivery(id);
    if (!delivery || delivery.webhookId !== hook.id) throw new SlipwayError("not_found", `no delivery ${id} of webhook ${hook.id}`);
    return delivery;
  }

  router.get(base, async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    res.json({ webhooks: (await store.webhooks.list(repo.id)).map(toWebhookView) });
  });

  router.post(base, async (req, res) => {
    const repo = await loadRepository(store, req, "admin");
    const body = asBody(req.body);
    const name = requiredString(body, "name");
    if (name.length > MAX_NAME) throw new SlipwayError("validation_failed", `"name" must be at most ${MAX_NAME} characters`);
    const rawUrl = requiredString(body, "url");
    if (rawUrl.length > MAX_URL) throw new SlipwayError("validation_failed", `"url" must be at most ${MAX_URL} characters`);
    const check = checkWebhookUrl(rawUrl, policy);
    if (!check.ok) throw new SlipwayError("validation_failed", `"url" is refused: ${check.reason}`);
    const secret = optionalString(body, "secret") ?? "";
    if (secret.length > MAX_SECRET) throw new SlipwayError("validation_failed", `"secret" must be at most ${MAX_SECRET} characters`);
    const hook = await store.webhooks.create(repo.id, {
      name,
      url: check.url.toString(),
      secretEnc: secret === "" ? null : deps.secrets.seal(secret),
    });
    res.status(201).json(toWebhookView(hook));
  });

  router.get(`${base}/:webhookId`, async (req, res) => {
    res.json(toWebhookView((await loadWebhook(req)).hook));
  });

  router.delete(`${base}/:webhookId`, async (req, res) => {
    const { hook } = await loadWebhook(req);
    await store.webhooks.delete(hook.id);
    res.status(204).end();
  });

  router.get(`${base}/:webhookId/deliveries`, async (req, res) => {
    const { hook } = await loadWebhook(req);
    const page = await store.webhooks.listDeliveries(hook.id, { limit: pageLimit(req.query["limit"]), cursor: queryString(req.query["cursor"]) });
    res.json({ deliveries: page.items.map(toDeliveryView), nextCursor: page.nextCursor });
  });

  /** One delivery with the payload it sends. */
  router.get(`${base}/:webhookId/deliveries/:deliveryId`, async (req, res) => {
    const delivery = await loadDelivery(req);
    res.json({ ...toDeliveryView(delivery), payload: JSON.parse(delivery.payload) as unknown });
  });

  /**
   * Sends the same payload again: a new series of attempts, numbered after the last. Not while a
   * series is still under way (`pending`): both would send, and the last to end would set the status.
   */
  router.post(`${base}/:webhookId/deliveries/:deliveryId/redeliver`, async (req, res) => {
    const delivery = await loadDelivery(req);
    if (delivery.status === "pending") {
      throw new SlipwayError("conflict", `delivery ${delivery.id} is still being delivered; wait for it to be delivered or fail`);
    }
    // Pending before it is queued: the new series' first attempt must not be overwritten.
    await store.webhooks.setDeliveryStatus(delivery.id, "pending");
    try {
      await webhookQueue.deliver(delivery.id, { again: { after: delivery.attempts.length } });
    } catch (err) {
      logger.error({ err, delivery: delivery.id }, "could not queue a redelivery");
      await store.webhooks.setDeliveryStatus(delivery.id, delivery.status);
      throw new SlipwayError("service_unavailable", "the delivery queue is unavailable; try again shortly", { cause: err });
    }
    res.status(202).json(toDeliveryView({ ...delivery, status: "pending" }));
  });

  return router;
}
