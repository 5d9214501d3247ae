import type { Role } from "@slipway/core";
import type { BuildRecord, DeliveryRecord, RepositoryRecord, RuleRecord, SourceRecord } from "@slipway/store";

/** The API's shapes (CONTRACT §5). Records never leave the service without passing here. */

export function toRepositoryView(repo: RepositoryRecord, image: string, caller: { starCount: number; starred: boolean; role: Role | null }) {
  return {
    id: repo.id,
    namespace: repo.namespace,
    name: repo.name,
    fullName: `${repo.namespace}/${repo.name}`,
    private: repo.private,
    description: repo.description,
    image,
    manualPush: repo.manualPush,
    starCount: caller.starCount,
    starred: caller.starred,
    role: caller.role,
    registry: repo.registryUrl ? { url: repo.registryUrl, username: repo.registryUsername } : null,
    createdAt: repo.createdAt,
    updatedAt: repo.updatedAt,
  };
}

export function webhookUrl(publicUrl: string, sourceId: string): string {
  return `${publicUrl}/hooks/${sourceId}`;
}

/** `secret` is given only when the caller may see it (right after linking). */
export function toSourceView(source: SourceRecord, publicUrl: string, secret?: string | null) {
  return {
    id: source.id,
    provider: source.provider,
    repository: source.repository,
    cloneUrl: source.cloneUrl,
    webhookUrl: webhookUrl(publicUrl, source.id),
    hasSecret: source.secretEnc !== null,
    hasCredentials: source.credentialsEnc !== null,
    ...(secret !== undefined ? { secret } : {}),
    createdAt: source.createdAt,
  };
}

export function toRuleView(rule: RuleRecord) {
  return {
    id: rule.id,
    sourceType: rule.sourceType,
    sourceName: rule.sourceName,
    dockerTag: rule.dockerTag,
    dockerfile: rule.dockerfile,
    context: rule.context,
    autobuild: rule.autobuild,
    cache: rule.cache,
    buildArgs: rule.buildArgs,
    createdAt: rule.createdAt,
  };
}


/** The short form a hook or trigger answer lists (CONTRACT §3). */
export function toQueuedBuildView(build: BuildRecord) {
  return {
    id: build.id,
    ruleId: build.ruleId,
    sourceType: build.sourceType,
    sourceName: build.sourceName,
    commit: build.commit,
    tags: build.tags,
    status: build.status,
  };
}

export function toDeliveryView(delivery: DeliveryRecord) {
  return {
    id: delivery.id,
    source: delivery.sourceId,
    provider: delivery.provider,
    event: delivery.event,
    deliveryId: delivery.deliveryKey,
    receivedAt: delivery.receivedAt,
    status: delivery.status,
    outcome: delivery.outcome,
    reason: delivery.reason,
    builds: delivery.buildIds,
  };
}
