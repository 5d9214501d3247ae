import {
  decodeBody,
  detectForge,
  forgeFor,
  httpStatusOf,
  SlipwayError,
  type ErrorCode,
  type Forge,
  type Headers,
  type ParseResult,
  type PushEvent,
  type SecretBox,
} from "@slipway/core";
import type { BuildRecord, DeliveryOutcome, NewBuild, NewDelivery, SourceRecord, Store } from "@slipway/store";
import type { Logger } from "pino";
import type { BuildService } from "../builds/build-service.js";
import { toQueuedBuildView } from "../views.js";

export interface DeliveryRequest {
  /** From `POST /hooks/{sourceId}`; absent on the organisation-wide `POST /hooks`. */
  sourceId?: string | undefined;
  headers: Headers;
  rawBody: Buffer;
}

export interface DeliveryAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface ReceiveDeps {
  store: Store;
  builds: BuildService;
  secrets: SecretBox;
  logger: Logger;
  /** Told of every delivery recorded (metrics). */
  onRecorded?: (provider: string | null, outcome: DeliveryOutcome) => void;
}

/** What we know of a delivery so far: enough to record it, whatever happens next. */
interface Context {
  source: SourceRecord | null;
  forge: Forge | null;
  event: string | null;
  deliveryKey: string | null;
}

class Rejection extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * verify → normalise → record → enqueue, with no HTTP in sight (octokit's verify-and-receive):
 * the express adapter hands over the raw delivery and sends back what this returns.
 * Every delivery is recorded, whatever its outcome. Only a real client error answers 4xx:
 * GitLab disables a hook for good after 4xx answers, so our own failures are 5xx.
 */
export function createDeliveryReceiver(deps: ReceiveDeps) {
  const { store, builds, secrets, logger } = deps;

  async function record(
    ctx: Context,
    status: number,
    outcome: DeliveryOutcome,
    reason: string | null,
    newBuilds: NewBuild[] = [],
  ) {
    const delivery: NewDelivery = {
      sourceId: ctx.source?.id ?? null,
      provider: ctx.forge?.provider ?? ctx.source?.provider ?? null,
      event: ctx.event,
      deliveryKey: ctx.deliveryKey,
      status,
      outcome,
      reason,
    };
    const recorded = await store.recordDelivery(delivery, newBuilds);
    // A duplicate writes nothing here: the receiver records it as its own delivery next.
    if (!recorded.duplicate) deps.onRecorded?.(delivery.provider, outcome);
    return recorded;
  }

  async function reject(ctx: Context, err: Rejection): Promise<DeliveryAnswer> {
    const status = httpStatusOf(err.code);
    // A rejected delivery is recorded without its key, so that the forge's redelivery of it,
    // once the hook is fixed, is not taken for a duplicate.
    const { delivery } = await record({ ...ctx, deliveryKey: null }, status, "rejected", err.message);
    return { status, body: { delivery: delivery.id, error: { code: err.code, message: err.message } } };
  }

  async function identify(req: DeliveryRequest, ctx: Context): Promise<void> {
    if (req.sourceId !== undefined) {
      ctx.source = (await store.getSource(req.sourceId)) ?? null;
      if (!ctx.source) throw new Rejection("not_found", `no source ${req.sourceId}: check the webhook URL`);
      ctx.forge = forgeFor(ctx.source.provider) ?? null;
    } else {
      ctx.forge = detectForge(req.headers) ?? null;
    }
    const event = ctx.forge?.event(req.headers);
    if (!ctx.forge || event === undefined || event === "") {
      throw new Rejection("missing_event", "no forge event header (X-GitHub-Event, X-Gitlab-Event, X-Event-Key, X-Gitea-Event)");
    }
    ctx.event = event;
    ctx.deliveryKey = ctx.forge.deliveryKey(req.headers) ?? null;
  }

  function verify(req: DeliveryRequest, forge: Forge, source: SourceRecord): void {
    if (source.secretEnc === null) return;
    const result = forge.verify(req.headers, req.rawBody, secrets.open(source.secretEnc));
    if (!result.ok) {
      const why = { missing: "is missing", empty: "is empty", malformed: "is malformed", mismatch: "does not match" }[result.reason];
      throw new Rejection("invalid_signature", `the delivery's signature ${why}: check the hook's secret`);
    }
  }

  /** POST /hooks: the source is the one linked to the payload's forge repository. */
  async function findSource(forge: Forge, parsed: ParseResult): Promise<SourceRecord> {
    const repository = parsed.kind === "bad_request" ? null : parsed.repository;
    if (!repository) throw new Rejection("not_found", "the delivery names no repository that is linked here");
    const [source] = await store.findSources(forge.provider, repository);
    if (!source) throw new Rejection("not_found", `no source is linked to ${forge.provider} repository ${repository}`);
    return source;
  }

  async function queuePushes(ctx: Context, source: SourceRecord, pushes: PushEvent[]): Promise<DeliveryAnswer> {
    const repo = await store.getRepository(source.repositoryId);
    if (!repo) throw new Rejection("not_found", "the source's repository was deleted");
    const planned = { builds: [] as NewBuild[], invalid: [] as { build: NewBuild; tag: string }[] };
    let matchedRules = 0;
    for (const push of pushes) {
      const result = await builds.plan(
        repo,
        push,
        { commit: push.commit, commitMessage: push.commitMessage },
        { type: "push" },
        { autobuildOnly: true },
      );
      planned.builds.push(...result.builds);
      planned.invalid.push(...result.invalid);
      matchedRules += result.matchedRules;
    }
    const all = [...planned.builds, ...planned.invalid.map((i) => i.build)];
    if (all.length === 0) {
      const names = pushes.map((p) => `${p.sourceType} "${p.sourceName}"`).join(", ");
      const reason = matchedRules > 0 ? `autobuild is off for the rules matching ${names}` : `no build rule matches ${names}`;
      return ignore(ctx, reason);
    }
    const recorded = await record(ctx, 202, "queued", null, all);
    if (recorded.duplicate) return duplicate(ctx, recorded.delivery.id, recorded.builds);
    const invalidTags = new Map<string, string>();
    planned.invalid.forEach((item, index) => {
      const build = recorded.builds[planned.builds.length + index];
      if (build) invalidTags.set(build.id, item.tag);
    });
    const delivery = recorded.delivery.id;
    try {
      const dispatched = await builds.dispatch(recorded.builds, invalidTags);
      logger.info({ delivery, builds: dispatched.map((b) => b.id) }, "builds queued");
      return { status: 202, body: { delivery, builds: dispatched.map(toQueuedBuildView) } };
    } catch (err) {
      if (!(err instanceof SlipwayError) || err.code !== "service_unavailable") throw err;
      // The builds are recorded and the sweep queues them once Redis is back; the forge is
      // told to try again, and its redelivery will answer with these builds.
      await store.setDeliveryAnswer(delivery, 503, err.message);
      return { status: 503, body: { delivery, builds: recorded.builds.map(toQueuedBuildView), error: { code: err.code, message: err.message } } };
    }
  }

  async function ignore(ctx: Context, reason: string): Promise<DeliveryAnswer> {
    const recorded = await record(ctx, 200, "ignored", reason);
    if (recorded.duplicate) return duplicate(ctx, recorded.delivery.id, recorded.builds);
    return { status: 200, body: { delivery: recorded.delivery.id, builds: [], ignored: reason } };
  }

  /** A redelivery is recorded as such, and answers with the first delivery's builds. */
  async function duplicate(ctx: Context, firstId: string, firstBuilds: BuildRecord[]): Promise<DeliveryAnswer> {
    const reason = `redelivery of ${firstId}: its builds were queued then`;
    const { delivery } = await record(ctx, 200, "duplicate", reason);
    return { status: 200, body: { delivery: delivery.id, builds: firstBuilds.map(toQueuedBuildView), ignored: reason } };
  }

  return async function receive(req: DeliveryRequest): Promise<DeliveryAnswer> {
    const ctx: Context = { source: null, forge: null, event: null, deliveryKey: null };
    try {
      await identify(req, ctx);
      const forge = ctx.forge!;
      // With a source id the signature is checked before anything of the body is read;
      // the organisation hook must read the repository's name first to find the secret.
      if (ctx.source) verify(req, forge, ctx.source);
      const decoded = decodeBody(headerOf(req.headers, "content-type"), req.rawBody);
      if (!decoded.ok) throw new Rejection(decoded.code, decoded.message);
      const parsed = forge.parse(ctx.event!, decoded.payload);
      if (!ctx.source) {
        ctx.source = await findSource(forge, parsed);
        verify(req, forge, ctx.source);
      }
      const source = ctx.source;
      switch (parsed.kind) {
        case "bad_request":
          throw new Rejection("bad_request", parsed.message);
        case "ping":
          return await ignore(ctx, "ping");
        case "ignored":
          return await ignore(ctx, parsed.reason);
        case "push":
          if (parsed.repository.toLowerCase() !== source.repository.toLowerCase()) {
            throw new Rejection(
              "bad_request",
              `the delivery is for ${parsed.repository}, but this hook's source is linked to ${source.repository}`,
            );
          }
          return await queuePushes(ctx, source, parsed.pushes);
      }
    } catch (err) {
      if (err instanceof Rejection) return reject(ctx, err);
      throw err;
    }
  };
}

function headerOf(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export type DeliveryReceiver = ReturnType<typeof createDeliveryReceiver>;
