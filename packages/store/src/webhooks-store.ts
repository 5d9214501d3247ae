import { newId, SlipwayError } from "@slipway/core";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { RegistryPushTable, WebhookAttemptTable, WebhookDeliveryTable, WebhookTable } from "./schema-webhooks.js";
import type { Page, PageQuery } from "./types.js";

/** An outgoing webhook as the store keeps it; `secretEnc` is sealed by the caller. */
export interface WebhookRecord {
  id: string;
  repositoryId: string;
  name: string;
  url: string;
  secretEnc: string | null;
  createdAt: string;
}

export type NewWebhook = Pick<WebhookRecord, "name" | "url" | "secretEnc">;

export type WebhookDeliveryStatus = "pending" | "delivered" | "failed";

/** One try at sending a delivery. */
export interface WebhookAttemptRecord {
  /** 1, 2, … across every series of the delivery (a redelivery goes on counting). */
  attempt: number;
  at: string;
  /** The receiver's HTTP status; null when none came (refused target, network error, timeout). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The start of the receiver's answer, truncated. */
  response: string | null;
}

export type NewWebhookAttempt = Omit<WebhookAttemptRecord, "attempt">;

/** One payload for one webhook: a build's end (for a push, one per pushed tag), or a push by hand. */
export interface WebhookDeliveryRecord {
  id: string;
  webhookId: string;
  /** The build it is about, or null for a push by hand. */
  buildId: string | null;
  /** The push by hand it is about, or null for a build. */
  pushId: string | null;
  event: string;
  /** The pushed tag (push); null for events about no tag. */
  tag: string | null;
  /** The body exactly as sent. */
  payload: string;
  status: WebhookDeliveryStatus;
  createdAt: string;
  updatedAt: string;
  /** Oldest first. */
  attempts: WebhookAttemptRecord[];
}

export type NewWebhookDelivery = Pick<WebhookDeliveryRecord, "webhookId" | "event" | "tag" | "payload">;

/** An image pushed by hand, as the registry reported it. */
export interface RegistryPushRecord {
  id: string;
  repositoryId: string;
  /** The registry's event id: a notification sent again is the same push. */
  eventId: string;
  tag: string;
  digest: string;
  /** The username; "" for anonymous. */
  pusher: string;
  pushedAt: string;
}

export type NewRegistryPush = Omit<RegistryPushRecord, "id" | "repositoryId">;

/** What a fan-out is about: a build's end, or a push by hand. */
export type DeliverySubject = { buildId: string } | { pushId: string };

/** The webhooks part of the store (CONTRACT §7): reached as `store.webhooks`. */
export interface WebhookStore {
  /** SlipwayError("not_found") when the repository does not exist. */
  create(repositoryId: string, input: NewWebhook): Promise<WebhookRecord>;
  /** The repository's webhooks, in creation order. */
  list(repositoryId: string): Promise<WebhookRecord[]>;
  get(id: string): Promise<WebhookRecord | undefined>;
  /** Deletes a webhook with its deliveries; false when there is none. */
  delete(id: string): Promise<boolean>;

  /**
   * Records a build's or a push's deliveries, `pending`, skipping those whose (webhook, subject, tag)
   * was recorded before (the fan-out may run twice), and returns every delivery of the subject.
   */
  recordDeliveries(subject: DeliverySubject, deliveries: NewWebhookDelivery[]): Promise<WebhookDeliveryRecord[]>;
  /** Records a push by hand; `created` is false when the registry reported this event before. */
  recordPush(repositoryId: string, push: NewRegistryPush): Promise<{ push: RegistryPushRecord; created: boolean }>;
  getPush(id: string): Promise<RegistryPushRecord | undefined>;
  /** A delivery with its attempts. */
  getDelivery(id: string): Promise<WebhookDeliveryRecord | undefined>;
  /** A webhook's deliveries with their attempts, newest first, keyset-paginated on id. */
  listDeliveries(webhookId: string, query: PageQuery): Promise<Page<WebhookDeliveryRecord>>;
  /**
   * Appends an attempt, numbered after the last, and sets the delivery's status, in one
   * transaction; undefined when the delivery is gone (its webhook was deleted).
   */
  recordAttempt(deliveryId: string, attempt: NewWebhookAttempt, status: WebhookDeliveryStatus): Promise<WebhookAttemptRecord | undefined>;
  /** Sets a delivery's status (`pending` again for a redelivery); false when it is gone. */
  setDeliveryStatus(id: string, status: WebhookDeliveryStatus): Promise<boolean>;
}

function toWebhookRecord(row: WebhookTable): WebhookRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    name: row.name,
    url: row.url,
    secretEnc: row.secret_enc,
    createdAt: row.created_at,
  };
}

function toAttemptRecord(row: WebhookAttemptTable): WebhookAttemptRecord {
  return {
    attempt: row.attempt,
    at: row.at,
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
    response: row.response,
  };
}

function toDeliveryRecord(row: WebhookDeliveryTable, attempts: WebhookAttemptRecord[]): WebhookDeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    buildId: row.build_id,
    pushId: row.push_id,
    event: row.event,
    tag: row.tag === "" ? null : row.tag,
    payload: row.payload,
    status: row.status as WebhookDeliveryStatus,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    attempts,
  };
}

function toPushRecord(row: RegistryPushTable): RegistryPushRecord {
  return {
    id: row.id,
    repositoryId: row.repository_id,
    eventId: row.event_id,
    tag: row.tag,
    digest: row.digest,
    pusher: row.pusher,
    pushedAt: row.pushed_at,
  };
}

export function createWebhookStore(db: Kysely<Database>): WebhookStore {
  /** The rows with their attempts, in the rows' order. */
  async function withAttempts(rows: WebhookDeliveryTable[]): Promise<WebhookDeliveryRecord[]> {
    if (rows.length === 0) return [];
    const attempts = await db
      .selectFrom("webhook_attempts")
      .selectAll()
      .where(
        "delivery_id",
        "in",
        rows.map((r) => r.id),
      )
      .orderBy("delivery_id")
      .orderBy("attempt")
      .execute();
    const byDelivery = new Map<string, WebhookAttemptRecord[]>();
    for (const row of attempts) {
      const list = byDelivery.get(row.delivery_id) ?? [];
      list.push(toAttemptRecord(row));
      byDelivery.set(row.delivery_id, list);
    }
    return rows.map((row) => toDeliveryRecord(row, byDelivery.get(row.id) ?? []));
  }

  return {
    async create(repositoryId, input) {
      const repo = await db.selectFrom("repositories").select("id").where("id", "=", repositoryId).executeTakeFirst();
      if (repo === undefined) throw new SlipwayError("not_found", `repository ${repositoryId} not found`);
      const row = await db
        .insertInto("webhooks")
        .values({
          id: newId(),
          repository_id: repositoryId,
          name: input.name,
          url: input.url,
          secret_enc: input.secretEnc,
          created_at: new Date().toISOString(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toWebhookRecord(row);
    },

    async list(repositoryId) {
      const rows = await db.selectFrom("webhooks").selectAll().where("repository_id", "=", repositoryId).orderBy("id").execute();
      return rows.map(toWebhookRecord);
    },

    async get(id) {
      const row = await db.selectFrom("webhooks").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toWebhookRecord(row);
    },

    async delete(id) {
      const result = await db.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async recordDeliveries(subject, deliveries) {
      const now = new Date().toISOString();
      const [column, id] = "buildId" in subject ? (["build_id", subject.buildId] as const) : (["push_id", subject.pushId] as const);
      if (deliveries.length > 0) {
        await db
          .insertInto("webhook_deliveries")
          .values(
            deliveries.map((d) => ({
              id: newId(),
              webhook_id: d.webhookId,
              build_id: column === "build_id" ? id : null,
              push_id: column === "push_id" ? id : null,
              event: d.event,
              tag: d.tag ?? "",
              payload: d.payload,
              status: "pending",
              attempt_count: 0,
              created_at: now,
              updated_at: now,
            })),
          )
          .onConflict((oc) => oc.columns(["webhook_id", column, "tag"]).doNothing())
          .execute();
      }
      const rows = await db.selectFrom("webhook_deliveries").selectAll().where(column, "=", id).orderBy("id").execute();
      return withAttempts(rows);
    },

    async recordPush(repositoryId, push) {
      const row = await db
        .insertInto("registry_pushes")
        .values({ id: newId(), repository_id: repositoryId, event_id: push.eventId, tag: push.tag, digest: push.digest, pusher: push.pusher, pushed_at: push.pushedAt })
        .onConflict((oc) => oc.column("event_id").doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row !== undefined) return { push: toPushRecord(row), created: true };
      const first = await db.selectFrom("registry_pushes").selectAll().where("event_id", "=", push.eventId).executeTakeFirstOrThrow();
      return { push: toPushRecord(first), created: false };
    },

    async getPush(id) {
      const row = await db.selectFrom("registry_pushes").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toPushRecord(row);
    },

    async getDelivery(id) {
      const row = await db.selectFrom("webhook_deliveries").selectAll().where("id", "=", id).executeTakeFirst();
      if (row === undefined) return undefined;
      const [delivery] = await withAttempts([row]);
      return delivery;
    },

    async listDeliveries(webhookId, query) {
      const limit = query.limit;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new SlipwayError("bad_request", `limit must be a positive integer, got ${limit}`);
      let q = db
        .selectFrom("webhook_deliveries")
        .selectAll()
        .where("webhook_id", "=", webhookId)
        .orderBy("id", "desc")
        .limit(limit + 1);
      if (query.cursor !== undefined) q = q.where("id", "<", query.cursor);
      const rows = await q.execute();
      const items = await withAttempts(rows.slice(0, limit));
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last !== undefined ? last.id : null };
    },

    async recordAttempt(deliveryId, attempt, status) {
      return db.transaction().execute(async (tx) => {
        // Counting on the delivery's row (a row lock on PostgreSQL, the write lock on SQLite)
        // numbers attempts of two overlapping series without a clash.
        const counted = await tx
          .updateTable("webhook_deliveries")
          .set((eb) => ({ attempt_count: eb("attempt_count", "+", 1), status, updated_at: new Date().toISOString() }))
          .where("id", "=", deliveryId)
          .returning("attempt_count")
          .executeTakeFirst();
        if (counted === undefined) return undefined;
        const row = await tx
          .insertInto("webhook_attempts")
          .values({
            delivery_id: deliveryId,
            attempt: counted.attempt_count,
            at: attempt.at,
            status_code: attempt.statusCode,
            error: attempt.error,
            duration_ms: attempt.durationMs,
            response: attempt.response,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toAttemptRecord(row);
      });
    },

    async setDeliveryStatus(id, status) {
      const result = await db
        .updateTable("webhook_deliveries")
        .set({ status, updated_at: new Date().toISOString() })
        .where("id", "=", id)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
