import {
  imageName,
  toPushedByHandPayload,
  toWebhookPayload,
  WEBHOOK_HEADERS,
  WEBHOOK_USER_AGENT,
  webhookEventOf,
  webhookSignature,
  type SecretBox,
} from "@slipway/core";
import type { WebhookProcessors, WebhookQueue } from "@slipway/queue";
import type { NewWebhookDelivery, Store, WebhookDeliveryStatus } from "@slipway/store";
import type { Logger } from "pino";
import type { WebhookSender } from "./webhook-sender.js";

export interface WebhookProcessorDeps {
  store: Store;
  queue: WebhookQueue;
  secrets: SecretBox;
  send: WebhookSender;
  logger: Logger;
  /** SLIPWAY_PUBLIC_URL: the payloads' links point there. */
  publicUrl: string;
  /** SLIPWAY_REGISTRY: where repositories without a registry of their own keep their images. */
  registry: string;
}

/**
 * Outgoing webhooks (CONTRACT §7): a build's end fans out into one delivery per webhook (per
 * pushed tag for a push), each sent, retried and recorded attempt by attempt.
 */
export function createWebhookProcessors(deps: WebhookProcessorDeps): WebhookProcessors {
  const { store, logger } = deps;

  return {
    async buildEnded({ buildId }) {
      const build = await store.getBuild(buildId);
      const event = build && webhookEventOf(build.status);
      if (!build || !event) return;
      const hooks = await store.webhooks.list(build.repositoryId);
      if (hooks.length === 0) return;
      const repository = await store.getRepository(build.repositoryId);
      if (!repository) return;
      const tags = event === "push" ? build.tags : [null];
      const deliveries: NewWebhookDelivery[] = hooks.flatMap((hook) =>
        tags.map((tag) => ({
          webhookId: hook.id,
          event,
          tag,
          payload: JSON.stringify(toWebhookPayload({ event, tag, build, repository, publicUrl: deps.publicUrl })),
        })),
      );
      // Recorded once per (webhook, build, tag); a series already queued is not queued twice.
      const recorded = await store.webhooks.recordDeliveries({ buildId: build.id }, deliveries);
      for (const delivery of recorded) {
        if (delivery.status === "pending") await deps.queue.deliver(delivery.id);
      }
      logger.info({ build: build.id, event, deliveries: recorded.length }, "webhook deliveries queued");
    },

    async pushed({ pushId }) {
      const push = await store.webhooks.getPush(pushId);
      if (!push) return;
      const hooks = await store.webhooks.list(push.repositoryId);
      const repository = hooks.length === 0 ? undefined : await store.getRepository(push.repositoryId);
      if (!repository) return;
      const image = imageName(repository.registryUrl ?? deps.registry, repository.namespace, repository.name);
      const payload = JSON.stringify(toPushedByHandPayload({ push, image, repository, publicUrl: deps.publicUrl }));
      const recorded = await store.webhooks.recordDeliveries(
        { pushId },
        hooks.map((hook) => ({ webhookId: hook.id, event: "push", tag: push.tag, payload })),
      );
      for (const delivery of recorded) {
        if (delivery.status === "pending") await deps.queue.deliver(delivery.id);
      }
      logger.info({ push: push.id, repository: `${repository.namespace}/${repository.name}`, tag: push.tag, deliveries: recorded.length }, "webhook deliveries of a push by hand queued");
    },

    async deliver({ deliveryId, attempt, last }) {
      const delivery = await store.webhooks.getDelivery(deliveryId);
      const hook = delivery && (await store.webhooks.get(delivery.webhookId));
      // Its webhook was deleted meanwhile: nothing left to send.
      if (!delivery || !hook) return "done";
      const log = logger.child({ delivery: delivery.id, webhook: hook.id, event: delivery.event });
      const at = new Date().toISOString();
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        "User-Agent": WEBHOOK_USER_AGENT,
        [WEBHOOK_HEADERS.event]: delivery.event,
        [WEBHOOK_HEADERS.delivery]: delivery.id,
        [WEBHOOK_HEADERS.hook]: hook.id,
      };
      if (hook.secretEnc !== null) {
        let secret: string;
        try {
          secret = deps.secrets.open(hook.secretEnc);
        } catch (err) {
          // Without its secret the delivery cannot be signed; sending it unsigned would mislead.
          log.error({ err }, "webhook secret cannot be decrypted");
          await store.webhooks.recordAttempt(
            delivery.id,
            { at, statusCode: null, error: "not sent: the webhook's secret cannot be decrypted (was SLIPWAY_SECRET_KEY changed?)", durationMs: 0, response: null },
            "failed",
          );
          return "give_up";
        }
        headers[WEBHOOK_HEADERS.signature] = webhookSignature(secret, delivery.payload);
      }

      const result = await deps.send({ url: hook.url, body: delivery.payload, headers });
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
      const status: WebhookDeliveryStatus = ok ? "delivered" : result.refused || last ? "failed" : "pending";
      const recorded = await store.webhooks.recordAttempt(
        delivery.id,
        { at, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs, response: result.response },
        status,
      );
      const fields = { attempt: recorded?.attempt ?? attempt, statusCode: result.statusCode, durationMs: result.durationMs };
      if (ok) log.info(fields, "webhook delivered");
      else log.warn({ ...fields, error: result.error, status }, status === "failed" ? "webhook delivery failed" : "webhook attempt failed; trying again");
      if (ok) return "done";
      return result.refused ? "give_up" : "retry";
    },
  };
}
