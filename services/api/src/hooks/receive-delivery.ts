import {
  decodeBody,
  detectForge,
  forgeFor,
  headerValue,
  httpStatusOf,
  SlipwayError,
  type Forge,
  type Headers,
  type PushEvent,
  type SecretBox,
  type VerifyResult,
} from "@slipway/core";
import type { BuildRecord, DeliveryOutcome, NewBuild, NewDelivery, SourceRecord, Store } from "@slipway/store";
import type { Logger } from "pino";
import type { BuildService } from "../builds/build-service.js";
import { toQueuedBuildView } from "../views.js";
import { createDeliveryRecorder } from "./delivery-recorder.js";
import { createHookConfigCache, type ConfigReads } from "./hook-config-cache.js";

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

const WHY: Record<Exclude<VerifyResult, { ok: true }>["reason"], string> = {
  missing: "is missing",
  empty: "is empty",
  malformed: "is malformed",
  mismatch: "does not match",
};

/**
 * verify → normalise → record → enqueue, with no HTTP in sight (octokit's verify-and-receive):
 * the HTTP adapter (hook-routes.ts) hands over the raw delivery and sends back what this returns.
 * Every delivery is recorded, whatever its outcome. A client error (a SlipwayError with a 4xx
 * status) answers 4xx; our own failures answer 5xx, since GitLab disables a hook for good
 * after 4xx answers.
 */
export function createDeliveryReceiver(deps: ReceiveDeps) {
  const { store, builds, secrets, logger } = deps;
  // Deliveries are group-committed, and logged there with their ids (the HTTP request log
  // leaves hooks out).
  const recorder = createDeliveryRecorder({ store, logger });
  const configCache = createHookConfigCache(store);
  const openSecret = memoizeSecrets(secrets);

  async function record(ctx: Context, status: number, outcome: DeliveryOutcome, reason: string | null, newBuilds: NewBuild[] = []) {
    const delivery: NewDelivery = {
      sourceId: ctx.source?.id ?? null,
      provider: ctx.forge?.provider ?? ctx.source?.provider ?? null,
      event: ctx.event,
      deliveryKey: ctx.deliveryKey,
      status,
      outcome,
      reason,
    };
    const recorded = await recorder.record(delivery, newBuilds);
    // A duplicate writes nothing here: the receiver records it as its own delivery next.
    if (!recorded.duplicate) deps.onRecorded?.(delivery.provider, outcome);
    return recorded;
  }

  async function identify(req: DeliveryRequest, ctx: Context, config: ConfigReads): Promise<void> {
    if (req.sourceId !== undefined) {
      ctx.source = (await config.getSource(req.sourceId)) ?? null;
      if (!ctx.source) throw new SlipwayError("not_found", `no source ${req.sourceId}: check the webhook URL`);
      ctx.forge = forgeFor(ctx.source.provider) ?? null;
      if (!ctx.forge) throw new Error(`no forge module for provider ${ctx.source.provider}`);
    } else {
      ctx.forge = detectForge(req.headers) ?? null;
    }
    const event = ctx.forge?.event(req.headers);
    if (!ctx.forge || event === undefined || event === "") {
      throw new SlipwayError("missing_event", "no forge event header (X-GitHub-Event, X-Gitlab-Event, X-Event-Key, X-Gitea-Event)");
    }
    ctx.event = event;
    ctx.deliveryKey = ctx.forge.deliveryKey(req.headers) ?? null;
  }

  function check(req: DeliveryRequest, forge: Forge, source: SourceRecord): VerifyResult {
    if (source.secretEnc === null) return { ok: true };
    return forge.verify(req.headers, req.rawBody, openSecret(source.secretEnc));
  }

  function verify(req: DeliveryRequest, forge: Forge, source: SourceRecord): void {
    const result = check(req, forge, source);
    if (!result.ok) throw new SlipwayError("invalid_signature", `the delivery's signature ${WHY[result.reason]}: check the hook's secret`);
  }

  /**
   * `POST /hooks`: the sources linked to the payload's forge repository whose secret the
   * delivery's signature verifies with (several images may build from one repository).
   */
  async function sourcesFor(req: DeliveryRequest, forge: Forge, repository: string, config: ConfigReads): Promise<SourceRecord[]> {
    const linked = await config.findSources(forge.provider, repository);
    if (linked.length === 0) throw new SlipwayError("not_found", `no source is linked to ${forge.provider} repository ${repository}`);
    const results = linked.map((source) => ({ source, result: check(req, forge, source) }));
    const verified = results.filter((r) => r.result.ok).map((r) => r.source);
    if (verified.length === 0) {
      const first = results[0]!.result as Exclude<VerifyResult, { ok: true }>;
      throw new SlipwayError("invalid_signature", `the delivery's signature ${WHY[first.reason]}: check the hook's secret`);
    }
    return verified;
  }

  async function queuePushes(ctx: Context, sources: SourceRecord[], pushes: PushEvent[], config: ConfigReads): Promise<DeliveryAnswer> {
    const planned: NewBuild[] = [];
    let matchedRules = 0;
    for (const source of sources) {
      const repo = await config.getRepository(source.repositoryId);
      if (!repo) continue;
      const rules = await config.listRules(repo.id);
      for (const push of pushes) {
        const revision = { commit: push.commit, commitMessage: push.commitMessage };
        const result = await builds.plan(repo, push, revision, { type: "push" }, { autobuildOnly: true, rules });
        planned.push(...result.builds);
        matchedRules += result.matchedRules;
      }
    }
    if (planned.length === 0) {
      const names = pushes.map((p) => `${p.sourceType} "${p.sourceName}"`).join(", ");
      return ignore(ctx, matchedRules > 0 ? `autobuild is off for the rules matching ${names}` : `no build rule matches ${names}`);
    }
    const recorded = await record(ctx, 202, "queued", null, planned);
    if (recorded.duplicate) return duplicate(ctx, recorded.delivery.id, recorded.builds);
    const delivery = recorded.delivery.id;
    const answer = { delivery, builds: recorded.builds.map(toQueuedBuildView) };
    const unavailable = await dispatch(recorded.builds);
    if (unavailable) {
      // The builds are recorded: the forge is told to try again, and its redelivery queues them
      // (so does the worker's sweep, later).
      await store.setDeliveryAnswer(delivery, 503, unavailable.message);
      return { status: 503, body: { ...answer, error: { code: unavailable.code, message: unavailable.message } } };
    }
    return { status: 202, body: answer };
  }

  /** Queues builds; a queue that is down is answered (503), not thrown. */
  async function dispatch(recorded: BuildRecord[]): Promise<SlipwayError | undefined> {
    try {
      await builds.dispatch(recorded);
      return undefined;
    } catch (err) {
      if (err instanceof SlipwayError && err.code === "service_unavailable") return err;
      throw err;
    }
  }

  async function ignore(ctx: Context, reason: string): Promise<DeliveryAnswer> {
    const recorded = await record(ctx, 200, "ignored", reason);
    if (recorded.duplicate) return duplicate(ctx, recorded.delivery.id, recorded.builds);
    return { status: 200, body: { delivery: recorded.delivery.id, builds: [], ignored: reason } };
  }

  /**
   * A redelivery is recorded as such, and answers with the first delivery's builds. Those still
   * queued are queued again: the forge redelivers when the first answer was a 503 (Redis was
   * down), and a build already in the queue is not queued twice.
   */
  async function duplicate(ctx: Context, firstId: string, firstBuilds: BuildRecord[]): Promise<DeliveryAnswer> {
    const reason = `redelivery of ${firstId}: its builds were queued then`;
    const unavailable = await dispatch(firstBuilds);
    const { delivery } = await record(ctx, unavailable ? 503 : 200, "duplicate", unavailable ? unavailable.message : reason);
    const body = { delivery: delivery.id, builds: firstBuilds.map(toQueuedBuildView) };
    if (unavailable) return { status: 503, body: { ...body, error: { code: unavailable.code, message: unavailable.message } } };
    return { status: 200, body: { ...body, ignored: reason } };
  }

  async function reject(ctx: Context, err: SlipwayError): Promise<DeliveryAnswer> {
    const status = httpStatusOf(err.code);
    const { delivery } = await record(ctx, status, "rejected", err.message);
    return { status, body: { delivery: delivery.id, error: { code: err.code, message: err.message } } };
  }

  async function handle(req: DeliveryRequest, ctx: Context): Promise<DeliveryAnswer> {
    const config = await configCache.current();
    await identify(req, ctx, config);
    const forge = ctx.forge!;
    // A forge's connection test (Bitbucket Server's diagnostics:ping) comes unsigned, maybe
    // without a body: it builds nothing, so it is answered as it is.
    if (forge.unsignedEvents?.has(ctx.event!)) return ignore(ctx, "ping");
    // With a source id the signature is checked before anything of the body is read; the
    // organisation hook must read the repository's name first to know whose secret to use.
    if (ctx.source) verify(req, forge, ctx.source);
    const decoded = decodeBody(headerValue(req.headers, "content-type"), req.rawBody);
    if (!decoded.ok) throw new SlipwayError(decoded.code, decoded.message);
    const parsed = forge.parse(ctx.event!, decoded.payload);
    if (parsed.kind === "bad_request") throw new SlipwayError("bad_request", parsed.message);

    let sources: SourceRecord[];
    if (ctx.source) {
      sources = [ctx.source];
      if (parsed.kind === "push" && parsed.repository.toLowerCase() !== ctx.source.repository.toLowerCase()) {
        throw new SlipwayError(
          "bad_request",
          `the delivery is for ${parsed.repository}, but this hook's source is linked to ${ctx.source.repository}`,
        );
      }
    } else if (parsed.kind !== "push" && parsed.repository === null) {
      // An organisation's own ping or event names no repository: it builds nothing, so it is
      // answered without a source to check it against.
      return ignore(ctx, parsed.kind === "ping" ? "ping" : parsed.reason);
    } else {
      sources = await sourcesFor(req, forge, parsed.repository!, config);
      ctx.source = sources[0]!;
    }

    switch (parsed.kind) {
      case "ping":
        return ignore(ctx, "ping");
      case "ignored":
        return ignore(ctx, parsed.reason);
      case "push":
        return queuePushes(ctx, sources, parsed.pushes, config);
    }
  }

  return {
    async receive(req: DeliveryRequest): Promise<DeliveryAnswer> {
      const ctx: Context = { source: null, forge: null, event: null, deliveryKey: null };
      try {
        return await handle(req, ctx);
      } catch (err) {
        if (err instanceof SlipwayError && httpStatusOf(err.code) < 500) return reject(ctx, err);
        throw err;
      }
    },
    /** A delivery whose body could not be read (too large, aborted) is recorded all the same. */
    async rejectUnreadable(req: Omit<DeliveryRequest, "rawBody">, err: SlipwayError): Promise<DeliveryAnswer> {
      const source = req.sourceId === undefined ? undefined : await store.getSource(req.sourceId);
      const forge = source ? forgeFor(source.provider) : detectForge(req.headers);
      const ctx: Context = {
        source: source ?? null,
        forge: forge ?? null,
        event: forge?.event(req.headers) ?? null,
        deliveryKey: forge?.deliveryKey(req.headers) ?? null,
      };
      return reject(ctx, err);
    },
  };
}

export type DeliveryReceiver = ReturnType<typeof createDeliveryReceiver>;

/** Secrets kept open at most; past that the memo starts afresh. */
const OPEN_SECRETS = 1000;

/**
 * Opens each sealed secret once: a delivery is checked against its source's secret, and
 * opening it (AES-GCM) costs as much as the check. Keyed by the ciphertext, so a changed
 * secret is a new entry and the memo is never stale.
 */
function memoizeSecrets(secrets: SecretBox): (sealed: string) => string {
  const open = new Map<string, string>();
  return (sealed) => {
    let secret = open.get(sealed);
    if (secret === undefined) {
      secret = secrets.open(sealed);
      if (open.size >= OPEN_SECRETS) open.clear();
      open.set(sealed, secret);
    }
    return secret;
  };
}
