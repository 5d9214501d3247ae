import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Provider } from "@slipway/core";
import { REPO_ROOT } from "./slipway.js";

export interface Fixture {
  headers: Record<string, string>;
  body: unknown;
}

/** A delivery as its forge sends it, from packages/core/fixtures (see its README for provenance). */
export function loadFixture(path: string): Fixture {
  return JSON.parse(readFileSync(join(REPO_ROOT, "packages", "core", "fixtures", path), "utf8")) as Fixture;
}

/** The header that carries a delivery's proof, as each forge computes it over the raw body. */
export function signFor(provider: Provider, secret: string, body: string): Record<string, string> {
  const sha256 = createHmac("sha256", secret).update(body).digest("hex");
  switch (provider) {
    case "github":
      return { "x-hub-signature-256": `sha256=${sha256}` };
    case "gitlab":
      return { "x-gitlab-token": secret };
    case "bitbucket":
    case "bitbucket-server":
      return { "x-hub-signature": `sha256=${sha256}` };
    case "gitea":
      return { "x-gitea-signature": sha256 };
  }
}

/**
 * Sends a fixture's delivery with fresh delivery ids (so it is not taken for a redelivery of
 * another test's), signed for `provider` unless `sign` is false.
 */
export async function sendFixture(url: string, provider: Provider, fixture: Fixture, body: string, options: { secret?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = {};
  const fresh = randomUUID();
  for (const [name, value] of Object.entries(fixture.headers)) {
    headers[name.toLowerCase()] = /delivery|uuid|request-id|idempotency-key/i.test(name) ? fresh : value;
  }
  Object.assign(headers, options.secret === undefined ? {} : signFor(provider, options.secret, body), options.headers);
  return { ...(await postDelivery(url, headers, body)), headers };
}

/** POSTs a delivery with exactly these headers (a forge's redelivery sends the same ones). */
export async function postDelivery(url: string, headers: Record<string, string>, body: string) {
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
}
